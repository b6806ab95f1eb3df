//! `graphprof man`: the man page (roff), generated from the clap definitions, with a section per
//! subcommand listing its arguments and options.

use crate::cli::{Cli, ManArgs};
use clap::CommandFactory;
use graphprof::output::{Destination, write_to};
use std::io::Write;

/// The whole page: graphprof(1) with its options, then each subcommand's usage and options.
fn render() -> std::io::Result<Vec<u8>> {
    let command = Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    for sub in command.get_subcommands() {
        let name = format!("graphprof {}", sub.get_name());
        let sub = sub
            .clone()
            .display_name(name.clone())
            .bin_name(name.clone());
        writeln!(page, ".SH \"{}\"", name.to_uppercase())?;
        let man = clap_mangen::Man::new(sub);
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
    }
    Ok(page)
}

pub fn run(args: ManArgs) -> anyhow::Result<i32> {
    let page = render()?;
    write_to(&Destination::from_arg(args.output.as_deref()), |out| {
        out.write_all(&page)
    })?;
    Ok(graphprof::error::EXIT_OK)
}
