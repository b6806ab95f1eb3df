//! `graphprof diff`: measures two graph files or analysis reports and writes what changed; with
//! `--exit-code`, exits 1 when something did.

use crate::cli::DiffArgs;
use graphprof::check::diff::{diff, load_input};
use graphprof::output::{Destination, write_to};
use graphprof::report::diff::render;

pub fn run(args: DiffArgs) -> anyhow::Result<i32> {
    let old = load_input(&args.old)?;
    let new = load_input(&args.new)?;
    let changes = diff(&old, &new);
    let text = render(&changes, args.format);
    write_to(&Destination::from_arg(args.output.as_deref()), |out| {
        out.write_all(text.as_bytes())
    })?;
    Ok(if args.exit_code && changes.differs() {
        graphprof::error::EXIT_FAILED_CHECK
    } else {
        graphprof::error::EXIT_OK
    })
}
