//! `progress=True`: a terminal progress bar per stage, drawn from the compute threads (no GIL).

use std::sync::Mutex;

use flatspace_compute::{Progress, ProgressSink};
use indicatif::{ProgressBar, ProgressStyle};

/// Draws one bar per stage on stderr; the message shows the loss when the stage reports one.
#[derive(Default)]
pub struct BarSink {
    current: Mutex<Option<(&'static str, ProgressBar)>>,
}

impl BarSink {
    pub fn finish(&self) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, bar)) = current.take() {
            bar.finish();
        }
    }
}

impl ProgressSink for BarSink {
    fn report(&self, progress: &Progress<'_>) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let same_stage = matches!(&*current, Some((stage, _)) if *stage == progress.stage);
        if !same_stage {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = ProgressBar::new(progress.total);
            if let Ok(style) =
                ProgressStyle::with_template("{prefix:>18} [{bar:30}] {pos}/{len} {elapsed} {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(progress.stage);
            *current = Some((progress.stage, bar));
        }
        if let Some((_, bar)) = &*current {
            bar.set_length(progress.total);
            bar.set_position(progress.done);
            if let Some(loss) = progress.loss {
                bar.set_message(format!("loss {loss:.4}"));
            }
        }
    }
}
