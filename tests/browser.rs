//! report.html in a real browser: headless Chromium renders it, and every chart must be visible
//! in the screenshot. Needs Debian's chromium: `scripts/test.sh` installs it and runs this test
//! (it is ignored by a plain `cargo test`).

mod common;

use std::path::Path;
use std::process::Command;

use common::{run_in, scenario};
use kbench::report::chart::PALETTE;
use kbench::signal::Interrupts;

fn chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium is installed (scripts/test.sh installs Debian's chromium)")
}

/// Screenshots `page` at 1200 px wide and returns the decoded image.
fn screenshot(page: &Path, height: u32) -> image::RgbImage {
    let out = page.with_extension("png");
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size=1200,{height}"))
        .arg(format!("--screenshot={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    image::open(&out).expect("screenshot decodes").to_rgb8()
}

/// Bands of rows containing at least `min` pixels close to `color`, split by gaps of 40 rows.
fn bands(img: &image::RgbImage, color: [u8; 3], min: usize) -> Vec<(u32, u32)> {
    let close = |p: &image::Rgb<u8>| p.0.iter().zip(color).all(|(a, b)| a.abs_diff(b) < 30);
    let rows: Vec<u32> = (0..img.height())
        .filter(|y| {
            (0..img.width())
                .filter(|x| close(img.get_pixel(*x, *y)))
                .count()
                >= min
        })
        .collect();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for y in rows {
        match out.last_mut() {
            Some((_, end)) if y - *end <= 40 => *end = y,
            _ => out.push((y, y)),
        }
    }
    out
}

#[test]
#[ignore = "needs chromium; scripts/test.sh installs it and runs this test"]
fn run_report_shows_every_chart_in_a_browser() {
    let s = scenario(
        "name = \"browser\"\n[producer]\nworkers = 2\n[load]\nrate = \"2000/s\"\nduration = \"3s\"\nwarmup = \"1s\"\n",
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let (r, run_dir) = run_in(&s, dir.path(), Interrupts::none()).unwrap();
    kbench::report::write_run_report(&r, &run_dir).unwrap();
    let img = screenshot(&run_dir.join("report.html"), 3400);
    let blue = PALETTE[0];
    let found = bands(&img, [blue.0, blue.1, blue.2], 3);
    // Every chart draws in the first palette colour: spectrum line, throughput line (flat, so
    // its band is thin), histogram bars.
    assert!(
        found.len() >= 3,
        "expected 3 charts with visible series, found bands {found:?}"
    );
    // Three charts of 620 px stack down the page: the bands cannot all sit in one chart.
    let spread = found[found.len() - 1].0 - found[0].0;
    assert!(spread > 1000, "bands {found:?} do not span three charts");
}

#[test]
#[ignore = "needs chromium; scripts/test.sh installs it and runs this test"]
fn history_trend_shows_every_chart_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let mut h = kbench::history::History::open(&db).unwrap();
    let p = kbench::history::Provenance {
        branch: Some("main".into()),
        cpus: 2,
        ..Default::default()
    };
    for i in 0..8u64 {
        let mut r = common::literal(&(1..=4000).collect::<Vec<u64>>(), 4, 0);
        r.throughput.msgs_per_sec = 1000.0 + 20.0 * i as f64;
        r.latency_us.corrected.p99 = 4000 + 150 * (i % 3);
        h.append(&r, &p).unwrap();
    }
    let out = dir.path().join("trend");
    let status = Command::new(env!("CARGO_BIN_EXE_kbench"))
        .args(["history", "trend"])
        .arg(&db)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let img = screenshot(&out.join("report.html"), 3400);
    let blue = PALETTE[0];
    let found = bands(&img, [blue.0, blue.1, blue.2], 3);
    // Four charts (throughput, p50, p99, loss), each with its series in the first colour.
    assert!(found.len() >= 4, "expected 4 charts, found bands {found:?}");
    let spread = found[found.len() - 1].0 - found[0].0;
    assert!(spread > 1500, "bands {found:?} do not span four charts");
}
