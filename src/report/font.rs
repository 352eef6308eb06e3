//! The font every figure is drawn with, shipped in `assets/fonts/` so that a machine without
//! system fonts (a fresh CI runner, a GPU box) renders the same pixels as a laptop.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::style::{register_font, FontStyle};

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name figures ask for. Registering our font under plotters' default family name
/// means labels plotters styles on its own (tick labels) use it too.
pub const FAMILY: &str = "sans-serif";

/// Registers the shipped font once per process; later calls return the first outcome.
pub fn ensure_registered() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "the font shipped in assets/fonts/DejaVuSans.ttf could not be parsed: \
             restore it from git (`git checkout assets/fonts`) and rebuild"
        ))
    }
}
