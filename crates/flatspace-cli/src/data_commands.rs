//! `import`, `ls`, `export`: moving tables in and out of the store.

use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {}

#[derive(clap::Args, Debug)]
pub struct LsArgs {}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {}

pub fn import(_data_dir: &Path, _args: ImportArgs) -> anyhow::Result<()> {
    anyhow::bail!("import is not built yet")
}

pub fn ls(_data_dir: &Path, _args: LsArgs) -> anyhow::Result<()> {
    anyhow::bail!("ls is not built yet")
}

pub fn export(_data_dir: &Path, _args: ExportArgs) -> anyhow::Result<()> {
    anyhow::bail!("export is not built yet")
}
