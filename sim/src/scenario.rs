//! Scenarios: a cluster shape plus the application code that runs on it.
//!
//! A scenario is a [`Workload`]: data (topics, producers, consumer groups, a
//! fault plan, phases, and for the stories a list of steps) that one runner
//! runs; or, where a story truly needs it, code. Either way its clients record
//! the run's history and the one judge judges it (see `run`). Scenarios are
//! owned values: the built-in ones are made when asked for, a scenario file is
//! read into one, and nothing lives longer than the command that uses it.

use kafkasim::bugs::{Bug, Bugs};
use kafkasim::rules::Rules;
use kafkasim_sim::{Cluster, ClusterSpec};
use std::future::Future;
use std::pin::Pin;
use workload::Workload;

/// A story's name, and its file under `sim/scenarios/stories/`.
macro_rules! story {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../scenarios/stories/", $name, ".toml")),
        )
    };
}

pub mod groups;
pub mod quickstart;
pub mod worker;
pub mod workload;

/// What a story written as code runs: its application code, on the `app` machine.
pub type StoryFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

#[derive(Clone)]
pub struct Scenario {
    /// A built-in scenario's name, or the path of a scenario file as given:
    /// what `--scenario` takes to run it again.
    pub name: String,
    pub summary: String,
    pub body: Body,
    /// Bug switches the command line added (`--bug NAME`), on top of the
    /// scenario's own: a replay command names them again.
    pub added_bugs: Bugs,
    /// A lab's rules the scenario runs with instead of Kafka's (`kafkasim
    /// lab`): a replay command names the lab again.
    pub lab: Option<LabRules>,
}

/// A learner's version of one of Kafka's rules (see `kafkasim::rules`), and
/// the lab it comes from. Never written in a scenario file: the lab sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabRules {
    /// The lab's name, as `kafkasim lab run NAME` takes it.
    pub lab: &'static str,
    pub rules: Rules,
}

/// What a scenario runs.
#[derive(Clone)]
pub enum Body {
    /// Application code, written for one story.
    Code {
        cluster: fn() -> ClusterSpec,
        run: fn(Cluster) -> StoryFuture,
    },
    /// A workload, built in or read from a scenario file.
    Workload(Box<Workload>),
}

/// Two scenarios are the same when they have one name, one summary and the
/// same body: the same workload, or the same story code.
impl PartialEq for Scenario {
    fn eq(&self, other: &Scenario) -> bool {
        let same_body = match (&self.body, &other.body) {
            (Body::Workload(a), Body::Workload(b)) => a == b,
            (
                Body::Code {
                    cluster: c1,
                    run: r1,
                },
                Body::Code {
                    cluster: c2,
                    run: r2,
                },
            ) => std::ptr::fn_addr_eq(*c1, *c2) && std::ptr::fn_addr_eq(*r1, *r2),
            _ => false,
        };
        self.name == other.name
            && self.summary == other.summary
            && self.added_bugs == other.added_bugs
            && self.lab == other.lab
            && same_body
    }
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scenario({})", self.name)
    }
}

impl Scenario {
    /// A story written as code.
    pub fn code(
        name: &str,
        summary: &str,
        cluster: fn() -> ClusterSpec,
        run: fn(Cluster) -> StoryFuture,
    ) -> Scenario {
        Scenario {
            name: name.into(),
            summary: summary.into(),
            body: Body::Code { cluster, run },
            added_bugs: Bugs::NONE,
            lab: None,
        }
    }

    /// A workload under `name`.
    /// Whether a run's text keeps the scenario's bug switches to itself (a
    /// bug hunt's file says `hunt = true`).
    pub fn hunt(&self) -> bool {
        matches!(&self.body, Body::Workload(w) if w.hunt)
    }

    pub fn workload(name: &str, workload: Workload) -> Scenario {
        Scenario {
            name: name.into(),
            summary: workload.summary.clone(),
            body: Body::Workload(Box::new(workload)),
            added_bugs: Bugs::NONE,
            lab: None,
        }
    }

    /// The scenario with `bugs` switched on too. A workload takes them into
    /// its cluster (so a shrunk file carries them); a story written as code
    /// gets them when its cluster is made.
    #[must_use]
    pub fn with_bugs(mut self, bugs: Bugs) -> Scenario {
        self.added_bugs = self.added_bugs.union(bugs);
        if let Body::Workload(workload) = &mut self.body {
            workload.cluster.bugs = workload.cluster.bugs.union(bugs);
        }
        self
    }

    /// The scenario with `bug` switched off, whether the command line or the
    /// scenario itself switched it on.
    #[must_use]
    pub fn without_bug(mut self, bug: Bug) -> Scenario {
        self.added_bugs = self.added_bugs.without(bug);
        if let Body::Workload(workload) = &mut self.body {
            workload.cluster.bugs = workload.cluster.bugs.without(bug);
        }
        self
    }

    /// The scenario run with a lab's rules: a workload takes them into its
    /// cluster; a story written as code gets them when its cluster is made.
    #[must_use]
    pub fn with_lab(mut self, lab: LabRules) -> Scenario {
        self.lab = Some(lab);
        if let Body::Workload(workload) = &mut self.body {
            workload.cluster.rules = lab.rules;
        }
        self
    }

    /// The cluster the scenario runs on, its bug switches and rules included.
    pub fn cluster(&self) -> ClusterSpec {
        match &self.body {
            Body::Code { cluster, .. } => {
                let mut spec = cluster();
                spec.bugs = spec.bugs.union(self.added_bugs);
                if let Some(lab) = self.lab {
                    spec.rules = lab.rules;
                }
                spec
            }
            Body::Workload(workload) => workload.cluster.clone(),
        }
    }

    /// The workload, when the scenario is one.
    pub fn as_workload(&self) -> Option<&Workload> {
        match &self.body {
            Body::Code { .. } => None,
            Body::Workload(workload) => Some(workload),
        }
    }
}

/// Every built-in scenario, made afresh; the first is the default of `kafkasim run`.
pub fn builtins() -> Vec<Scenario> {
    let mut all = vec![
        Scenario::workload("replicated", Workload::replicated()),
        quickstart::scenario(),
        Scenario::workload("groups", Workload::groups()),
    ];
    all.extend(
        STORIES
            .iter()
            .map(|(name, text)| Scenario::workload(name, built_in(text))),
    );
    all.extend(groups::all());
    all.push(Scenario::workload("standard", Workload::standard()));
    all
}

/// The failure stories, written as scenario files with steps (see
/// [`workload::step`]), in the order the built-in list has them.
const STORIES: [(&str, &str); 18] = [
    story!("leader-crash-acks-all"),
    story!("preferred-leader-returns"),
    story!("acks-1-failover"),
    story!("unclean-election"),
    story!("unclean-election-disabled"),
    story!("split-brain-old-leader"),
    story!("controller-crash"),
    story!("lost-produce-response"),
    story!("lost-produce-response-idempotent"),
    story!("kip-101"),
    story!("kip-101-high-watermark-truncation"),
    story!("last-replica-power-loss"),
    story!("last-replica-process-crash"),
    story!("last-replica-power-loss-elr"),
    story!("last-replica-isolated"),
    story!("last-replica-isolated-elr"),
    story!("replaced-disk"),
    story!("follower-power-loss-then-crashes"),
];

/// A built-in scenario by name.
pub fn builtin(name: &str) -> Option<Scenario> {
    builtins().into_iter().find(|s| s.name == name)
}

/// The names of the built-in scenarios, in order.
pub fn builtin_names() -> Vec<String> {
    builtins().into_iter().map(|s| s.name).collect()
}

/// A built-in scenario file's workload (checked by every test run).
fn built_in(text: &str) -> Workload {
    workload::file::parse(text).unwrap_or_else(|e| panic!("a built-in scenario file is valid: {e}"))
}

/// Reads and checks the scenario file at `path`; the scenario's name is the
/// path as given.
pub fn load_file(path: &str) -> Result<Scenario, String> {
    let workload = workload::file::read(std::path::Path::new(path))?;
    let mut scenario = Scenario::workload(path, workload);
    if scenario.summary.is_empty() {
        scenario.summary = format!("scenario file {path}");
    }
    Ok(scenario)
}

/// A built-in scenario by name, or a scenario file by path.
pub fn named(name: &str) -> Result<Scenario, String> {
    if let Some(found) = builtin(name) {
        return Ok(found);
    }
    let path = std::path::Path::new(name);
    if name.ends_with(".toml") || path.exists() {
        return load_file(name);
    }
    Err(format!(
        "unknown scenario '{name}'; built-in scenarios: {} (or a scenario file, NAME.toml)",
        builtin_names().join(", ")
    ))
}
