//! `graphprof man`: the man page (roff), generated from the clap definitions, with EXIT STATUS and
//! ENVIRONMENT sections and a section per subcommand listing its arguments and options.

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
    page.extend_from_slice(EXIT_STATUS_AND_ENVIRONMENT.as_bytes());
    render_subcommands(&command, "graphprof", &mut page)?;
    Ok(page)
}

/// The sections clap does not know: the exit codes (src/error.rs) and the environment variables
/// the binary reads, in roff (`\-` is a hyphen).
const EXIT_STATUS_AND_ENVIRONMENT: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success; for \fBcheck\fR, every budget met.
.TP
\fB1\fR
A check failed (a budget or a regression), a sampled run did not complete (a failing task, the memory limit, a command that exited non\-zero or was killed), or \fBdiff \-\-exit\-code\fR found a difference.
.TP
\fB2\fR
Bad input or usage: a malformed or invalid file, an unreadable path, an invalid or missing option or argument.
.TP
\fB130\fR
\fBsample\fR interrupted by Ctrl\-C or SIGTERM; what was sampled is written, marked interrupted.
.SH ENVIRONMENT
.TP
\fBGRAPHPROF_PYTHON\fR
The Python that runs graphprof's Dask side (it needs dask and distributed) when \fB\-\-python\fR is not given; default \fBpython3\fR.
.TP
\fBGRAPHPROF_VERBOSE\fR
Set and not 0: print informational lines too (which copy of the Python side runs).
"#;

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
