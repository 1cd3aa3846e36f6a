//! How a running stack operation looks: a progress bar per stack on a terminal, plain
//! timestamped lines otherwise (CI logs). Everything goes to stderr so stdout carries only
//! results (text summary or JSON). Must not decide anything.

use std::collections::HashSet;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::time::{now_ms, stamped, timestamp};
use crate::aws::cloudformation::StackEvent;

/// Where human-facing messages go.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// stderr is a terminal: draw bars.
    pub tty: bool,
}

impl Ui {
    pub fn detect() -> Ui {
        use std::io::IsTerminal;
        Ui {
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// A message for the person running irisctl; without a terminal it carries the time,
    /// like the event lines, so a CI log shows how long each step took.
    pub fn say(&self, message: &str) {
        if self.tty {
            eprintln!("{message}");
        } else {
            eprintln!("{}", stamped(now_ms(), message));
        }
    }

    /// Progress for one stack operation with `total` resources expected.
    pub fn stack(&self, stack: &str, verb: &str, total: usize) -> Progress {
        let bar = self.tty.then(|| {
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(format!("{verb} {stack}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            stack: stack.to_owned(),
            done: HashSet::new(),
        }
    }
}

/// One stack operation's progress.
pub struct Progress {
    bar: Option<ProgressBar>,
    stack: String,
    done: HashSet<String>,
}

impl Progress {
    pub fn event(&mut self, e: &StackEvent) {
        let line = format!(
            "{}  {}  {} ({})  {}{}",
            timestamp(e.timestamp_ms),
            self.stack,
            e.logical_id,
            e.resource_type,
            e.status,
            e.reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!("  {r}"))
                .unwrap_or_default()
        );
        match &self.bar {
            Some(bar) => {
                if e.logical_id != self.stack
                    && e.status.ends_with("_COMPLETE")
                    && self.done.insert(e.logical_id.clone())
                {
                    bar.inc(1);
                }
                if e.status.ends_with("_FAILED") {
                    bar.println(line);
                }
                bar.set_message(format!("{} {}", e.logical_id, e.status));
            }
            None => eprintln!("{line}"),
        }
    }

    /// A side note (a retried poll, a wait): above the bar, or a plain line.
    pub fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{}", stamped(now_ms(), message)),
        }
    }

    pub fn finish(&self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(status.to_owned());
        }
    }
}
