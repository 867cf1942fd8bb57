//! Steps: apply each action to the running lab, then run the step's checks.

use crate::front::lab::Step;
use crate::kernel::engine::{LiveLab, actions};
use crate::runner::results::{ActionResult, StepResult};

pub async fn run(live: &LiveLab, step: &Step) -> StepResult {
    let mut results = Vec::new();
    let mut ok = true;
    for a in &step.actions {
        let what = actions::describe(&live.lab, a);
        match actions::apply(live, a).await {
            Ok(()) => results.push(ActionResult {
                action: what,
                ok: true,
                error: None,
            }),
            Err(e) => {
                ok = false;
                results.push(ActionResult {
                    action: what,
                    ok: false,
                    error: Some(e.to_string()),
                });
                // Later actions may depend on this one; checks would only test a lab
                // that is not what the step describes.
                break;
            }
        }
    }
    let checks = if ok {
        super::execute::execute_all(live, &step.checks).await
    } else {
        Vec::new()
    };
    let passed = ok && checks.iter().all(|c| c.passed);
    StepResult {
        name: step.name.clone(),
        actions: results,
        checks,
        passed,
    }
}
