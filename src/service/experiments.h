#pragma once
// Experiment services: create, start, pause, stop, promote an arm, and count a look at the
// results. Each checks the rules in domain/experiment.h and writes with its audit row
// (recovery_actions, actor admin: "experiment_created", "experiment_started", ...) in one
// transaction. Stopping keeps everything: a stopped experiment's cases keep their arm.
#include <cstdint>
#include <string>

#include "domain/experiment.h"
#include "service/settings.h"

namespace cs::service {

/// Validates and stores a new experiment as a draft (arms keyed "a".., the first is the
/// control); its assignment key is derived from the app's keyring. Ok: the new id in `id`.
Change create_experiment(Context& ctx, domain::Experiment e, int64_t* id = nullptr);

/// Start (a draft or a paused experiment; refused while another one runs or is paused), pause
/// (a running one: new cases are no longer assigned; assigned cases keep their arm) and stop
/// (final). Error: a sentence a person understands.
Status start_experiment(Context& ctx, int64_t id);
Status pause_experiment(Context& ctx, int64_t id);
Status stop_experiment(Context& ctx, int64_t id);

/// Makes arm `arm` the only playbook: its copy becomes the messages (and its free days, when it
/// sets them, the settings' free days), and the experiment stops if it has not. Cases created
/// from then on follow it; cases already in an arm keep their arm's copy, and the holdout is
/// still never contacted.
Status promote_arm(Context& ctx, int64_t id, const std::string& arm);

/// Counts one look at the results page; returns the count (0 when it could not be written).
int64_t count_view(Context& ctx, int64_t id);

}  // namespace cs::service
