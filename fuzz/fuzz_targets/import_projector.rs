#![no_main]
//! A `projector_config.pbtxt` beside a small valid tensor, metadata file and sprite: the config text
//! is the fuzzed input (paths, sprite sizes, nesting).

#[path = "common.rs"]
mod common;

use std::sync::Once;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static FILES: Once = Once::new();
    FILES.call_once(|| {
        common::write("t.tsv", b"1\t2\n3\t4\n5\t6\n");
        common::write("m.tsv", b"a\n b\n c\n");
        let sprite = flatspace_table::media::Image8 {
            width: 4,
            height: 4,
            color: png::ColorType::Rgba,
            pixels: (0..64).map(|i| (i * 37 % 256) as u8).collect(),
        };
        common::write("s.png", &sprite.encode_png().expect("png"));
    });
    let path = common::write("projector_config.pbtxt", data);
    common::import(&path, None);
});
