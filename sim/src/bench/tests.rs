//! The bench's arithmetic and report, on made-up measurements (no timing is
//! asserted anywhere: only what the report computes from what it was given).

use super::*;

fn timing(seed: u64, wall_ms: u64, simulated_ms: u64, messages: u64) -> SeedTiming {
    SeedTiming {
        seed,
        verdict: VerdictKind::Ok,
        trace_hash: seed * 7,
        simulated_ms,
        messages,
        wall: Duration::from_millis(wall_ms),
    }
}

fn report() -> BenchReport {
    let seeds = vec![timing(1, 100, 60_000, 1_000), timing(2, 300, 80_000, 3_000)];
    BenchReport {
        range: SeedRange { start: 1, end: 3 },
        machine: Machine {
            cores: 2,
            cpu: Some("Test CPU".into()),
            load_before: Some("0.10 0.20 0.30".into()),
            load_after: None,
            spin_speedup_2_threads: 1.95,
        },
        one_job: Pass {
            jobs: 1,
            seeds: seeds.clone(),
            wall: Duration::from_millis(400),
            cpu: Some(Duration::from_millis(380)),
        },
        two_jobs: Pass {
            jobs: 2,
            seeds,
            wall: Duration::from_millis(250),
            cpu: None,
        },
        baseline: vec![
            BaselineRun {
                seed: 1,
                messages: 1_000,
                simulated_ms: 3_000,
                wall: Duration::from_millis(10),
            },
            BaselineRun {
                seed: 2,
                messages: 3_000,
                simulated_ms: 9_000,
                wall: Duration::from_millis(30),
            },
        ],
        peak_memory_kib: Some(51_200),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[test]
fn the_figures_follow_from_the_measurements() {
    let f = report().figures();
    assert!(close(f.wall_per_seed_ms.mean, 200.0), "{f:?}");
    assert!(close(f.wall_per_seed_ms.min, 100.0));
    assert!(close(f.wall_per_seed_ms.max, 300.0));
    assert!(close(f.messages_per_seed.mean, 2_000.0));
    assert!(close(f.seeds_per_s_1_job, 5.0));
    assert!(close(f.seeds_per_s_2_jobs, 8.0));
    assert!(close(f.two_jobs_speedup, 1.6));
    assert!(close(f.cores_busy_1_job.unwrap(), 0.95));
    assert_eq!(f.cores_busy_2_jobs, None);
    // 140 s simulated in 0.4 s of seeds' wall time.
    assert!(close(f.simulated_per_wall, 350.0));
    assert!(close(f.messages_per_wall_s, 10_000.0));
    assert!(close(f.model_ns_per_message, 100_000.0));
    assert!(close(f.baseline.ns_per_message, 10_000.0));
    assert!(close(f.baseline.simulated_per_wall, 300.0));
    assert!(close(f.overhead, 10.0));
    assert_eq!(f.peak_memory_mib, Some(50.0));
    assert!(f.same_results_with_1_and_2_jobs);
    assert_eq!(f.verdicts.ok, 2);
    let met: Vec<bool> = f.targets.iter().map(|t| t.met).collect();
    assert_eq!(met, [false, false, false]);
}

#[test]
fn a_target_is_met_only_when_the_measurement_reaches_it() {
    let mut fast = report();
    fast.two_jobs.wall = Duration::from_millis(200);
    fast.baseline[0].wall = Duration::from_millis(200);
    fast.baseline[1].wall = Duration::from_millis(200);
    fast.one_job.seeds[0].simulated_ms = 1_000_000;
    let f = fast.figures();
    let met: Vec<bool> = f.targets.iter().map(|t| t.met).collect();
    assert_eq!(met, [true, true, true], "{:?}", f.targets);
}

#[test]
fn different_results_in_the_two_passes_are_reported() {
    let mut report = report();
    report.two_jobs.seeds[1].trace_hash += 1;
    assert!(!report.figures().same_results_with_1_and_2_jobs);
    assert!(render_text(&report.figures()).contains("with 1 and 2 jobs: NO\n"));
}

#[test]
fn the_text_names_every_figure_and_says_which_targets_are_not_met() {
    let text = render_text(&report().figures());
    for expected in [
        "bench: scenario standard, seeds 1..3 (2 seeds)\n",
        "machine: 2 cores, Test CPU; load average 0.10 0.20 0.30 before, unknown after\n",
        "machine: a plain CPU loop on 2 threads ran 1.95x one thread (2.00 on two idle cores)\n",
        "verdicts: 2 ok, 0 correctness, 0 liveness, 0 crash; same verdicts and trace hashes with 1 and 2 jobs: yes\n",
        "  wall time per seed      mean 200.0 ms, min 100.0 ms, max 300.0 ms\n",
        "  seeds/s                 5.00\n",
        "  simulated/wall          350x\n",
        "  messages/wall-second    10000 (100000 ns per message)\n",
        "  seeds/s                 8.00 (1.60x 1 job)\n",
        "  cores busy              0.95\n",
        "  cores busy              unknown\n",
        "  4000 messages in 0.040 s: 10000 ns per message, simulated/wall 300x\n",
        "  model per message       10.00x the baseline\n",
        "peak memory: 50.0 MiB (VmHWM: the peak of this whole process)\n",
        "simulated time per wall time, 1 job",
        "NOT MET\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains(" met\n"), "{text}");
}

#[test]
fn the_json_is_one_line_with_every_figure() {
    let text = render_json(&report().figures());
    assert_eq!(text.lines().count(), 1);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["scenario"], "standard");
    assert_eq!(json["seeds"], serde_json::json!({"start": 1, "end": 3}));
    assert_eq!(json["targets"][2]["met"], false);
    assert_eq!(json["machine"]["cores"], 2);
    assert_eq!(json["machine"]["spin_speedup_2_threads"], 1.95);
    for field in [
        "seeds_per_s_1_job",
        "seeds_per_s_2_jobs",
        "two_jobs_speedup",
        "simulated_per_wall",
        "messages_per_wall_s",
        "model_ns_per_message",
        "overhead",
        "peak_memory_mib",
    ] {
        assert!(json[field].is_number(), "{field} in {json}");
    }
    assert!(json["wall_per_seed_ms"]["max"].is_number());
    assert!(json["baseline"]["ns_per_message"].is_number());
}

#[test]
fn peak_memory_and_cpu_time_are_read_from_proc_where_there_is_one() {
    if std::path::Path::new("/proc/self/status").exists() {
        assert!(peak_memory_kib().is_some_and(|kib| kib > 0));
        let before = cpu_time().expect("/proc/self/stat");
        let mut spin = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(50) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        assert!(cpu_time().unwrap() >= before, "CPU time never goes back");
    }
}
