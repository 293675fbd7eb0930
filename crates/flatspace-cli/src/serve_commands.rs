//! `serve` and `demo`: the web UI and API over the store.

use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {}

pub fn serve(_data_dir: &Path, _args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("serve is not built yet")
}

pub fn demo(_data_dir: &Path, _args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("demo is not built yet")
}
