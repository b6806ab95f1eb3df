//! `graphprof man`: the man page (roff), generated from the clap definitions, with a section per
//! subcommand listing its arguments and options.

use crate::cli::{Cli, ManArgs};
use clap::CommandFactory;
use graphprof::output::{Destination, write_to};
use std::io::Write;

/// The whole page: graphprof(1) with its options, then each subcommand's usage and options, nested
/// ones (`graphprof dask export`) included.
fn render() -> std::io::Result<Vec<u8>> {
    let command = Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    render_subcommands(&command, "graphprof", &mut page)?;
    Ok(page)
}

/// A section per subcommand of `parent`, then its own subcommands, depth first (the command tree
/// is clap's, a few levels deep, not user input).
fn render_subcommands(
    parent: &clap::Command,
    prefix: &str,
    page: &mut Vec<u8>,
) -> std::io::Result<()> {
    for sub in parent
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help")
    {
        let name = format!("{prefix} {}", sub.get_name());
        let section = sub
            .clone()
            .display_name(name.clone())
            .bin_name(name.clone());
        writeln!(page, ".SH \"{}\"", name.to_uppercase())?;
        let man = clap_mangen::Man::new(section);
        man.render_synopsis_section(page)?;
        man.render_description_section(page)?;
        man.render_options_section(page)?;
        render_subcommands(sub, &name, page)?;
    }
    Ok(())
}

pub fn run(args: ManArgs) -> anyhow::Result<i32> {
    let page = render()?;
    write_to(&Destination::from_arg(args.output.as_deref()), |out| {
        out.write_all(&page)
    })?;
    Ok(graphprof::error::EXIT_OK)
}
