// SIGINT / SIGTERM during a sweep: the handler only sets a flag; the sweep checks stop_requested()
// between runs and ends early, keeping every finished run in the results file (which then has no
// end line, so `kcs run --resume` continues it). A second signal acts as usual (kills the process;
// the finished lines are already on disk).
#pragma once

namespace kcs {

void install_stop_handlers();
bool stop_requested();
int stop_signal();               // the signal that asked to stop, 0 if none
void request_stop_for_test(int sig);  // as if `sig` arrived (tests)

}  // namespace kcs
