// The library's metrics are process-wide (one Meter), and several tests assert exact counts (refused writes, corrupt
// entries); tests that run at the same time would add to each other's counts. The suite is short enough to run one
// test class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
