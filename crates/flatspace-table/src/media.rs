//! Media beside a table: image columns hold the content hash of a file the store keeps.
//!
//! An image column is a `Utf8` column whose field metadata says `flatspace.kind = image`; each cell
//! is the lowercase hex BLAKE3 hash of the file's bytes (or null).

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

use arrow_schema::{DataType, Field};

use crate::error::{Result, TableError};

/// Field metadata key naming the product-level kind of a column where Arrow's type is not enough.
pub const KIND_METADATA_KEY: &str = "flatspace.kind";
/// Value of [`KIND_METADATA_KEY`] for image columns.
pub const IMAGE_KIND: &str = "image";

/// The field of an image column (content hashes as strings).
pub fn image_field(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable).with_metadata(HashMap::from([(
        KIND_METADATA_KEY.to_string(),
        IMAGE_KIND.to_string(),
    )]))
}

/// True if the field is an image column.
pub fn is_image_field(field: &Field) -> bool {
    field.metadata().get(KIND_METADATA_KEY).map(String::as_str) == Some(IMAGE_KIND)
}

/// The content hash the store names a media file by: lowercase hex BLAKE3 of its bytes.
pub fn media_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// A media file produced by an importer, to be stored under its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaBlob {
    pub hash: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl MediaBlob {
    pub fn new(bytes: Vec<u8>, content_type: impl Into<String>) -> Self {
        MediaBlob {
            hash: media_hash(&bytes),
            content_type: content_type.into(),
            bytes,
        }
    }
}

/// A decoded 8-bit image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image8 {
    pub width: u32,
    pub height: u32,
    pub color: png::ColorType,
    /// Row-major pixels, `channels()` bytes each.
    pub pixels: Vec<u8>,
}

impl Image8 {
    pub fn channels(&self) -> usize {
        self.color.samples()
    }

    /// The `width × height` region at (`x`, `y`), which must lie inside the image.
    pub fn crop(&self, x: u32, y: u32, width: u32, height: u32) -> Image8 {
        let c = self.channels();
        let stride = self.width as usize * c;
        let mut pixels = Vec::with_capacity(width as usize * height as usize * c);
        for row in y..y + height {
            let start = row as usize * stride + x as usize * c;
            pixels.extend_from_slice(&self.pixels[start..start + width as usize * c]);
        }
        Image8 {
            width,
            height,
            color: self.color,
            pixels,
        }
    }

    pub fn encode_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(self.color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.pixels)?;
        writer.finish()?;
        Ok(out)
    }
}

/// Decodes a PNG of any colour type and depth into 8-bit grey, grey+alpha, RGB or RGBA.
/// Largest decoded image (a sprite sheet) accepted: 1 GiB of pixels.
pub const MAX_DECODED_PNG_BYTES: usize = 1 << 30;

pub fn decode_png(path: &Path, bytes: Vec<u8>) -> Result<Image8> {
    let bad = |e: png::DecodingError| {
        TableError::format(path, None, format!("not a readable PNG image: {e}"))
    };
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(bad)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| TableError::format(path, None, "PNG image too large to decode"))?;
    // The header alone sets the size: refuse before allocating, so a small file cannot claim
    // gigabytes of pixels.
    if size > MAX_DECODED_PNG_BYTES {
        let info = reader.info();
        return Err(TableError::format(
            path,
            None,
            format!(
                "PNG image of {}×{} pixels needs {size} bytes decoded: expected at most {MAX_DECODED_PNG_BYTES}",
                info.width, info.height
            ),
        ));
    }
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels).map_err(bad)?;
    pixels.truncate(info.buffer_size());
    Ok(Image8 {
        width: info.width,
        height: info.height,
        color: info.color_type,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_and_crops() {
        let img = Image8 {
            width: 4,
            height: 3,
            color: png::ColorType::Rgb,
            pixels: (0..36).map(|v| (v * 7) as u8).collect(),
        };
        let bytes = img.encode_png().expect("encode");
        let back = decode_png(Path::new("x.png"), bytes).expect("decode");
        assert_eq!(back, img);
        let cell = img.crop(1, 1, 2, 2);
        // Row 1 starts at byte 12; pixel 1 at +3.
        assert_eq!(&cell.pixels[..6], &img.pixels[15..21]);
        assert_eq!(&cell.pixels[6..], &img.pixels[27..33]);
    }

    #[test]
    fn garbage_is_not_a_png() {
        let err = decode_png(Path::new("s.png"), b"not a png".to_vec()).expect_err("garbage");
        assert!(err.to_string().contains("s.png"), "{err}");
    }

    #[test]
    fn image_field_is_recognised() {
        assert!(is_image_field(&image_field("img", true)));
        assert!(!is_image_field(&Field::new("img", DataType::Utf8, true)));
    }
}
