//! Render time of each summary for a full diagnostic, in the bench's line format:
//! `cargo run --release -p tandem-print --example timing`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use tandem_domain::Role;
use tandem_print::{render_person_summary, render_professional_summary, PrintInput};

type Render = fn(&PrintInput<'_>) -> Result<Vec<u8>, tandem_print::PrintError>;

#[allow(clippy::print_stdout)] // the BENCH lines are this example's output
fn main() {
    let d = common::full();
    let p = common::person();
    let input = common::input(&d, &p, Role::Social);
    let renders: [(&str, Render); 2] = [
        ("pdf_person_ms", render_person_summary),
        ("pdf_professional_ms", render_professional_summary),
    ];
    for (name, render) in renders {
        // The first render parses the fonts; the median of the next ones is reported.
        let first = Instant::now();
        let bytes = render(&input).expect("renders");
        let first = first.elapsed().as_secs_f64() * 1000.0;
        let mut times: Vec<f64> = (0..20)
            .map(|_| {
                let t = Instant::now();
                render(&input).expect("renders");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!("BENCH {name} {:.1}", times[times.len() / 2]);
        eprintln!(
            "{name}: first {first:.1} ms, max {:.1} ms, {} bytes",
            times[times.len() - 1],
            bytes.len()
        );
    }
}
