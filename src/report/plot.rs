//! `memory.png` and `memory.svg`: memory over time, one line per series.
//!
//! Every series is aligned at its own start (t = 0, as distributed's
//! `MemorySampler.plot(align=True)`). Each label's phases are a thin band of its own along the
//! top, one row per label in that label's colour (compute lightly, held more strongly, the
//! phase names written in it), so the phases of several strategies never shade over each
//! other. Lines that overlap stay apart: each label has its own dash pattern and marker
//! (solid with circles, dashed with triangles, dotted with crosses, ...), shown in the legend. The y axis is in MiB, or GiB when the highest reading reaches 1 GiB. Text
//! is drawn with DejaVu Sans embedded in the binary, registered once, so no system font or
//! fontconfig is needed. Both files are drawn into temporary files in the target directory
//! and renamed into place, so a failed draw leaves nothing half-written.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::sample::series::{Measure, Phase, Series};

/// Width of both images, in pixels.
pub const WIDTH: u32 = 1000;
/// Height of both images, in pixels.
pub const HEIGHT: u32 = 600;

/// The line colours, in label order (matplotlib's tab10, familiar to Dask users).
pub(super) const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(super) const FONT: &str = "sans-serif";

/// Drawing the plots failed.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// No series has a reading of the measure asked for.
    #[error("no series has {0} samples to plot")]
    NoSamples(Measure),
    /// The embedded font could not be registered.
    #[error("the embedded font could not be loaded")]
    Font,
    /// The plotting library failed.
    #[error("cannot draw {}: {message}", path.display())]
    Draw {
        /// The file being drawn.
        path: PathBuf,
        /// The library's message.
        message: String,
    },
    /// A file could not be created, written or renamed into place.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Draw `measure` of every series into `png` and `svg`, titled `title`.
pub fn plot_memory(
    series: &[Series],
    title: &str,
    measure: Measure,
    png: &Path,
    svg: &Path,
) -> Result<(), PlotError> {
    register_font()?;
    let chart = ChartData::new(series, measure)?;

    write_png(png, |root| draw(root, &chart, title))?;

    write_svg(svg, |root| draw(root, &chart, title))
}

/// Register DejaVu Sans as the sans-serif font, once per process.
pub(super) fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// One series' line.
struct Line {
    label: String,
    /// Index into [`COLOURS`].
    colour: usize,
    /// `(seconds since the series' first sample, bytes in the chosen unit)`.
    points: Vec<(f64, f64)>,
}

/// What is drawn, in the chosen unit, computed once for both files.
struct ChartData {
    /// One line per series that has the measure.
    lines: Vec<Line>,
    /// `(colour index, row, phase, start, end)`, aligned like the lines.
    bands: Vec<(usize, usize, Phase, f64, f64)>,
    unit: &'static str,
    measure: Measure,
    x_max: f64,
    y_max: f64,
}

impl ChartData {
    fn new(series: &[Series], measure: Measure) -> Result<ChartData, PlotError> {
        let highest = series
            .iter()
            .flat_map(|s| s.totals(measure))
            .map(|(_, b)| b)
            .max()
            .ok_or(PlotError::NoSamples(measure))?;
        let (unit, scale) = axis_unit(highest as f64);
        let mut lines = Vec::new();
        let mut bands = Vec::new();
        let mut x_max: f64 = 0.0;
        for (row, (index, s)) in series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.totals(measure).is_empty())
            .enumerate()
        {
            let colour = index % COLOURS.len();
            let totals = s.totals(measure);
            let origin = totals.first().map_or(0.0, |(t, _)| *t);
            let points: Vec<(f64, f64)> = totals
                .iter()
                .map(|(t, b)| (t - origin, *b as f64 / scale))
                .collect();
            x_max = x_max.max(points.last().map_or(0.0, |(t, _)| *t));
            for (phase, start, end) in s.phase_spans() {
                let (start, end) = ((start - origin).max(0.0), (end - origin).max(0.0));
                x_max = x_max.max(end);
                bands.push((colour, row, phase, start, end));
            }
            lines.push(Line {
                label: s.label.clone(),
                colour,
                points,
            });
        }
        let y_max = highest as f64 / scale;
        let lines_len = lines.len();
        Ok(ChartData {
            lines,
            bands,
            unit,
            measure,
            x_max: if x_max > 0.0 { x_max } else { 1.0 },
            // Headroom above the highest line for the phase names.
            // Headroom above the highest line for the rows of phase names.
            y_max: if y_max > 0.0 {
                y_max / (0.96 - ROW_SHARE * lines_len.min(8) as f64)
            } else {
                1.0
            },
        })
    }
}

/// Draw the chart on any backend; errors are the library's messages.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    title: &str,
) -> Result<(), String> {
    let text = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(text)?;
    let below_title = root
        .margin(8, 0, 0, 0)
        .titled(title, (FONT, 22))
        .map_err(text)?;
    let (legend_area, chart_area) = below_title.split_vertically(LEGEND_HEIGHT);
    draw_legend(&legend_area, data).map_err(text)?;

    let decimals = label_decimals(data.y_max);
    let mut chart = ChartBuilder::on(&chart_area)
        .margin_left(14)
        .margin_right(24)
        .margin_bottom(10)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..data.x_max, 0.0..data.y_max)
        .map_err(text)?;
    chart
        .configure_mesh()
        .x_desc("time since start (s)")
        .y_desc(format!("{} memory ({})", data.measure, data.unit))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(text)?;

    // One thin band per label along the top: row `row` spans the y range
    // [y_max - (row + 1) * row_height, y_max - row * row_height].
    let row_height = data.y_max * ROW_SHARE;
    let row_span = |row: usize| {
        let top = data.y_max - row_height * row as f64;
        (top - row_height * 0.9, top)
    };
    chart
        .draw_series(data.bands.iter().filter(|b| b.4 > b.3).map(
            |&(colour, row, phase, start, end)| {
                let alpha = match phase {
                    Phase::Held => 0.45,
                    Phase::Compute => 0.22,
                    _ => 0.08,
                };
                let (low, high) = row_span(row);
                Rectangle::new(
                    [(start, low), (end, high)],
                    COLOURS[colour].mix(alpha).filled(),
                )
            },
        ))
        .map_err(text)?;
    // Phase starts as short ticks in the label's band, named inside it; a name is left out
    // when the next phase starts too soon after it to fit.
    chart
        .draw_series(data.bands.iter().map(|&(colour, row, _, start, _)| {
            let (low, high) = row_span(row);
            PathElement::new(vec![(start, low), (start, high)], COLOURS[colour])
        }))
        .map_err(text)?;
    let seconds_per_px = data.x_max / f64::from(WIDTH - 110);
    let names = data.bands.iter().filter(|&&(_, _, phase, start, end)| {
        let needed_px = 7.0 * phase.as_str().len() as f64 + 6.0;
        end <= start || (end - start) / seconds_per_px >= needed_px || end >= data.x_max
    });
    chart
        .draw_series(names.map(|&(colour, row, phase, start, _)| {
            let y = data.y_max - row_height * (row as f64 + 0.1);
            let at = start + 3.0 * seconds_per_px;
            Text::new(
                phase.as_str(),
                (at, y),
                (FONT, 11).into_font().color(&COLOURS[colour]),
            )
        }))
        .map_err(text)?;

    for (index, line) in data.lines.iter().enumerate() {
        draw_line(&mut chart, line, index).map_err(text)?;
    }
    Ok(())
}

/// Dash and gap lengths (pixels) of the `index`th label's line; `None` is solid.
pub(super) fn dash(index: usize) -> Option<(i32, i32)> {
    [
        None,
        Some((10, 5)),
        Some((2, 4)),
        Some((14, 4)),
        Some((6, 3)),
    ][index % 5]
}

/// A marker of the `index`th label's shape at `at`, in any coordinates.
pub(super) fn marker<C: Clone + 'static, DB: DrawingBackend>(
    index: usize,
    at: C,
    colour: RGBColor,
) -> DynElement<'static, DB, C> {
    match index % 4 {
        0 => Circle::new(at, 4, colour.filled()).into_dyn(),
        1 => TriangleMarker::new(at, 5, colour.filled()).into_dyn(),
        2 => Cross::new(at, 4, colour.stroke_width(2)).into_dyn(),
        _ => Circle::new(at, 4, colour.stroke_width(2)).into_dyn(),
    }
}

/// One label's line in its dash pattern, with its markers (about 16, offset per label so
/// that the markers of overlapping lines do not fall on each other).
fn draw_line<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    line: &Line,
    index: usize,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let colour = COLOURS[line.colour];
    let style = colour.stroke_width(2);
    match dash(index) {
        None => {
            chart.draw_series(LineSeries::new(line.points.iter().copied(), style))?;
        }
        Some((size, gap)) => {
            chart.draw_series(DashedLineSeries::new(
                line.points.iter().copied(),
                size,
                gap,
                style,
            ))?;
        }
    }
    let every = (line.points.len() / 16).max(1);
    let offset = (every * index / 4) % every;
    chart.draw_series(
        line.points
            .iter()
            .skip(offset)
            .step_by(every)
            .map(|&at| marker::<(f64, f64), DB>(index, at, colour)),
    )?;
    Ok(())
}

/// Height of the legend strip between the title and the chart, in pixels.
const LEGEND_HEIGHT: u32 = 28;
/// Share of the y range given to each row of phase names above the highest line.
const ROW_SHARE: f64 = 0.045;

/// The legend: one short line and label per series, in a row above the chart, where it
/// can never hide a line or a phase name.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    // Many labels (a sweep's STRATEGY@CHUNKS) get a smaller font and less space, to stay in one row.
    let measure = |size: u32, gap: i32| -> (TextStyle, Vec<i32>) {
        let style: TextStyle = (FONT, size).into_font().into();
        let widths = data
            .lines
            .iter()
            .map(|Line { label, .. }| {
                let (w, _) = area.estimate_text_size(label, &style).unwrap_or((60, 15));
                i32::try_from(w).unwrap_or(60) + 24 + gap
            })
            .collect();
        (style, widths)
    };
    let (mut style, mut widths) = measure(15, 22);
    if widths.iter().sum::<i32>() > i32::try_from(WIDTH).unwrap_or(1000) {
        (style, widths) = measure(11, 6);
    }
    let total: i32 = widths.iter().sum();
    let mut x = (i32::try_from(WIDTH).unwrap_or(1000) - total).max(0) / 2;
    let y = i32::try_from(LEGEND_HEIGHT / 2).unwrap_or(14);
    for (index, (Line { label, colour, .. }, width)) in data.lines.iter().zip(widths).enumerate() {
        let colour = COLOURS[*colour];
        match dash(index) {
            None => area.draw(&PathElement::new(
                vec![(x, y), (x + 20, y)],
                colour.stroke_width(2),
            ))?,
            Some((size, gap)) => area.draw(&DashedPathElement::new(
                vec![(x, y), (x + 20, y)],
                size.min(8),
                gap,
                colour.stroke_width(2),
            ))?,
        }
        area.draw(&marker::<(i32, i32), DB>(index, (x + 10, y), colour))?;
        area.draw(&Text::new(label.as_str(), (x + 26, y - 8), style.clone()))?;
        x += width;
    }
    Ok(())
}

/// Draw with `paint` into an RGB buffer and write it to `png` as a PNG, atomically (the `png`
/// crate encodes it: plotters' own encoder would bring the whole `image` crate into every build).
pub(super) fn write_png(
    png: &Path,
    paint: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<(), PlotError> {
    let mut pixels = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        paint(&root).map_err(|message| draw_error(png, message))?;
        root.present().map_err(|e| draw_error(png, e.to_string()))?;
    }
    let encoded = encode_png(&pixels).map_err(|e| draw_error(png, e.to_string()))?;
    write_bytes(png, &encoded)
}

/// Draw with `paint` into an SVG document and write it to `svg`, atomically.
pub(super) fn write_svg(
    svg: &Path,
    paint: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<(), PlotError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        paint(&root).map_err(|message| draw_error(svg, message))?;
        root.present().map_err(|e| draw_error(svg, e.to_string()))?;
    }
    write_bytes(svg, text.as_bytes())
}

/// `bytes` into `target` through a temporary file beside it ([`crate::output::write_file_atomically`]:
/// symlinks followed, devices written to, regular files renamed over).
fn write_bytes(target: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    crate::output::write_file_atomically(target, |out| out.write_all(bytes)).map_err(|error| {
        PlotError::Io {
            action: error.action,
            path: target.to_path_buf(),
            source: error.source,
        }
    })
}

/// `pixels` (RGB, [`WIDTH`] x [`HEIGHT`]) as a PNG file's bytes.
fn encode_png(pixels: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(bytes)
}

pub(super) fn draw_error(path: &Path, message: String) -> PlotError {
    PlotError::Draw {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(test)]
#[path = "plot_tests.rs"]
mod tests;

/// The unit of a y axis in bytes and its size: MiB, or GiB from 1 GiB up.
pub(super) fn axis_unit(highest: f64) -> (&'static str, f64) {
    const MIB: f64 = 1024.0 * 1024.0;
    if highest >= 1024.0 * MIB {
        ("GiB", 1024.0 * MIB)
    } else {
        ("MiB", MIB)
    }
}

/// Decimals for the y labels: enough to tell apart ticks about a tenth of the axis apart (the
/// mesh draws up to ten), so a 0.05 MiB axis reads 0.005, 0.010, ... and never "0.04" twice.
pub(super) fn label_decimals(y_max: f64) -> usize {
    if !(y_max.is_finite() && y_max > 0.0) {
        return 0;
    }
    (-(y_max / 10.0).log10()).ceil().clamp(0.0, 6.0) as usize
}
