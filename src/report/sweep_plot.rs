//! `sweep.png` and `sweep.svg`: held memory against the chunk count, one colour per strategy,
//! in the style of the memory plots (`plot.rs`: same colours, markers, embedded font, legend
//! strip above the chart, atomic writes). Each strategy's measured points are markers and its
//! fitted line `a + b x chunks` is drawn dashed through the swept range.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::plot::{
    COLOURS, FONT, PlotError, WIDTH, axis_unit, dash, label_decimals, marker, register_font,
    write_png, write_svg,
};
use super::sweep::SweepReport;
use crate::units::Bytes;

/// Height of the legend strip, in pixels.
const LEGEND_HEIGHT: u32 = 28;

/// Draws `sweep` into `png` and `svg`, titled `title`.
pub fn plot_sweep(
    sweep: &SweepReport,
    title: &str,
    png: &Path,
    svg: &Path,
) -> Result<(), PlotError> {
    register_font()?;
    write_png(png, |root| draw(root, sweep, title))?;
    write_svg(svg, |root| draw(root, sweep, title))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    sweep: &SweepReport,
    title: &str,
) -> Result<(), String> {
    let text = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(text)?;
    let below_title = root
        .margin(8, 0, 0, 0)
        .titled(title, (FONT, 22))
        .map_err(text)?;
    let (legend_area, chart_area) = below_title.split_vertically(LEGEND_HEIGHT);
    let x_max = sweep.chunks.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.05;
    let highest = sweep
        .fits
        .iter()
        .flat_map(|f| f.points.iter().map(|p| p.held_bytes as f64))
        .fold(1.0, f64::max);
    let (unit, scale) = axis_unit(highest);
    let y_max = highest / scale * 1.08;
    let decimals = label_decimals(y_max);
    let measures: Vec<String> = {
        let mut names: Vec<String> = sweep.fits.iter().map(|f| f.measure.to_string()).collect();
        names.dedup();
        names
    };
    let mut chart = ChartBuilder::on(&chart_area)
        .margin_left(14)
        .margin_right(24)
        .margin_bottom(10)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(text)?;
    chart
        .configure_mesh()
        .x_desc("chunks")
        .y_desc(format!("held {} ({unit})", measures.join(", ")))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(text)?;
    let mut legend = Vec::new();
    for (index, fit) in sweep.fits.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        if let Some((a, b)) = fit.intercept_bytes.zip(fit.slope_bytes_per_chunk) {
            let low = if fit.method == super::sweep::ONE_POINT {
                0.0
            } else {
                sweep.chunks.iter().copied().min().unwrap_or(0) as f64
            };
            let high = sweep.chunks.iter().copied().max().unwrap_or(0) as f64;
            let at = |x: f64| (x, ((a + b * x) / scale).max(0.0));
            let (size, gap) = dash(index + 1).unwrap_or((10, 5));
            chart
                .draw_series(DashedLineSeries::new(
                    [at(low), at(high)],
                    size,
                    gap,
                    colour.stroke_width(2),
                ))
                .map_err(text)?;
            legend.push((
                format!("{}: {}/chunk", fit.label, Bytes(b.max(0.0).round() as u64)),
                index,
            ));
        } else {
            legend.push((fit.label.clone(), index));
        }
        chart
            .draw_series(fit.points.iter().map(|p| {
                marker::<(f64, f64), DB>(
                    index,
                    (p.chunks as f64, p.held_bytes as f64 / scale),
                    colour,
                )
            }))
            .map_err(text)?;
    }
    draw_legend(&legend_area, &legend).map_err(text)?;
    Ok(())
}

/// One marker and label per strategy, in a row above the chart.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, usize)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style: TextStyle = (FONT, 15).into_font().into();
    let widths: Vec<i32> = entries
        .iter()
        .map(|(label, _)| {
            let (w, _) = area.estimate_text_size(label, &style).unwrap_or((60, 15));
            i32::try_from(w).unwrap_or(60) + 24 + 22
        })
        .collect();
    let total: i32 = widths.iter().sum();
    let mut x = (i32::try_from(WIDTH).unwrap_or(1000) - total).max(0) / 2;
    let y = i32::try_from(LEGEND_HEIGHT / 2).unwrap_or(14);
    for ((label, index), width) in entries.iter().zip(widths) {
        let colour = COLOURS[index % COLOURS.len()];
        area.draw(&marker::<(i32, i32), DB>(*index, (x + 10, y), colour))?;
        area.draw(&Text::new(label.as_str(), (x + 26, y - 8), style.clone()))?;
        x += width;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sweep::{SweepFit, SweepPoint};
    use crate::sample::Measure;

    #[test]
    fn draws_png_and_svg_with_the_strategies_and_their_slopes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (png, svg) = (dir.path().join("sweep.png"), dir.path().join("sweep.svg"));
        let fit = |label: &str, per_chunk: u64| SweepFit {
            label: label.to_string(),
            engine: "builtin".to_string(),
            measure: Measure::Managed,
            points: [16, 32, 64]
                .map(|chunks| SweepPoint {
                    chunks,
                    held_bytes: 4096 + chunks * per_chunk,
                })
                .to_vec(),
            intercept_bytes: Some(4096.0),
            slope_bytes_per_chunk: Some(per_chunk as f64),
            r_squared: Some(1.0),
            method: crate::report::sweep::LEAST_SQUARES.to_string(),
            budget_bytes: Some(1 << 30),
            fits_chunks: Some(1000),
        };
        let sweep = SweepReport {
            chunks: vec![16, 32, 64],
            worker_memory_bytes: Some(1 << 30),
            worker_memory_source: "--worker-memory".to_string(),
            fits: vec![fit("inline", 262_890), fit("scatter", 17_130)],
            swept: None,
            outputs_of: None,
        };
        plot_sweep(&sweep, "seed case sweep", &png, &svg).expect("draws");
        let bytes = std::fs::read(&png).expect("png");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 5_000, "{}", bytes.len());
        let text = std::fs::read_to_string(&svg).expect("svg");
        assert!(
            text.contains("inline: 257 KiB/chunk"),
            "legend with the slope"
        );
        assert!(text.contains("scatter"));
        assert!(text.contains("seed case sweep"));
        assert!(text.contains("chunks"));
    }

    #[test]
    fn a_small_axis_gets_enough_decimals_to_tell_its_ticks_apart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (png, svg) = (dir.path().join("sweep.png"), dir.path().join("sweep.svg"));
        // At most 40 KiB held: a 0.04 MiB axis, whose ticks one decimal would print as 0.0.
        let sweep = SweepReport {
            chunks: vec![16, 32, 64],
            worker_memory_bytes: None,
            worker_memory_source: "cluster".to_string(),
            fits: vec![SweepFit {
                label: "scatter".to_string(),
                engine: "dask".to_string(),
                measure: Measure::Rss,
                points: [16, 32, 64]
                    .map(|chunks| SweepPoint {
                        chunks,
                        held_bytes: chunks * 640,
                    })
                    .to_vec(),
                intercept_bytes: Some(0.0),
                slope_bytes_per_chunk: Some(640.0),
                r_squared: Some(1.0),
                method: crate::report::sweep::LEAST_SQUARES.to_string(),
                budget_bytes: None,
                fits_chunks: None,
            }],
            swept: None,
            outputs_of: None,
        };
        plot_sweep(&sweep, "small", &png, &svg).expect("draws");
        let text = std::fs::read_to_string(&svg).expect("svg");
        let labels: Vec<&str> = text
            .split("</text>")
            .filter_map(|piece| piece.rsplit('>').next().map(str::trim))
            .filter(|label| label.starts_with("0.0"))
            .collect();
        assert!(labels.len() >= 3, "y labels: {labels:?}");
        let mut distinct = labels.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            labels.len(),
            "repeated y labels: {labels:?}"
        );
    }
}
