//! QR codes of seals: the only module that touches the `qrcode`, `png` and `rqrr` crates.
//!
//! Error correction level Q (stains and folds on paper that travels with shipments), a 4-module
//! quiet zone (its absence is the most common cause of scan failures) and integer module
//! scaling. The text is upper case, so the encoder keeps it in alphanumeric mode.

use qrcode::{EcLevel, QrCode, Version};

/// Modules of quiet zone on each side.
pub const QUIET_ZONE: usize = 4;

/// A built QR symbol.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// QR version (1 to 40).
    pub version: i16,
    width: usize,
    dark: Vec<bool>,
}

impl Symbol {
    /// Encodes `text` at ECC level Q in the smallest version that holds it.
    pub fn encode(text: &str) -> Result<Symbol, String> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q)
            .map_err(|e| format!("cannot encode the QR code: {e}"))?;
        let version = match code.version() {
            Version::Normal(v) => v,
            Version::Micro(v) => v,
        };
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(Symbol {
            version,
            width,
            dark,
        })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// A greyscale PNG with `scale` pixels per module and the quiet zone.
    pub fn png(&self, scale: usize) -> Vec<u8> {
        let side = (self.width + 2 * QUIET_ZONE) * scale;
        let mut pixels = vec![255u8; side * side];
        for y in 0..self.width {
            for x in 0..self.width {
                if self.is_dark(x, y) {
                    let (px, py) = ((x + QUIET_ZONE) * scale, (y + QUIET_ZONE) * scale);
                    for row in py..py + scale {
                        pixels[row * side + px..row * side + px + scale].fill(0);
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(side * side / 8);
        {
            let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().expect("PNG header to memory");
            writer
                .write_image_data(&pixels)
                .expect("PNG data to memory");
        }
        out
    }

    /// An SVG with one unit per module and the quiet zone; it scales to any print size.
    pub fn svg(&self) -> String {
        let side = self.width + 2 * QUIET_ZONE;
        let mut path = String::with_capacity(self.width * self.width * 4);
        for y in 0..self.width {
            for x in 0..self.width {
                if self.is_dark(x, y) {
                    path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE));
                }
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>\n"
        )
    }
}

/// The texts of the QR codes found in a PNG image (rqrr), for the offline verifier and tests.
pub fn read_png(png_bytes: &[u8]) -> Result<Vec<String>, String> {
    let (w, h, grey) = png_to_grey(png_bytes)?;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| grey[y * w + x]);
    let texts: Vec<String> = img
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect();
    if texts.is_empty() {
        return Err("no readable QR code in the image".into());
    }
    Ok(texts)
}

/// Decodes a PNG into greyscale pixels (width, height, pixels), for tests and the offline
/// verifier.
pub fn png_to_grey(png_bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    if info.bit_depth != png::BitDepth::Eight {
        return Err("only 8-bit PNG images are supported".into());
    }
    let grey = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match channels {
            1 | 2 => p[0],
            _ => ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000) as u8,
        })
        .collect();
    Ok((w, h, grey))
}
