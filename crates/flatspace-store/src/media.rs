//! Content-addressed media files: `media/ab/cdef…` named by the blake3 hash of their bytes.

use std::path::{Path, PathBuf};

use crate::files::MEDIA_DIR;

/// A media file read back: its bytes and MIME type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub bytes: Vec<u8>,
    pub mime: String,
}

/// 64 lowercase hex digits. Checked before a hash ever becomes a path, so a request cannot
/// name a file outside the media folder.
pub fn is_valid_hash(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Where a (valid) hash lives, relative to the store root.
pub(crate) fn relative_path(hash: &str) -> PathBuf {
    Path::new(MEDIA_DIR).join(&hash[..2]).join(&hash[2..])
}
