namespace CacheInvalidation;

/// <summary>
/// Orphan control: when the background job (<c>AddOrphanCleanup</c>) cleans, what a cleanup removes, and how it paces
/// itself. An orphan is an entry left under old versions after a version bump: unreadable, it only waits for its TTL.
/// </summary>
public sealed class OrphanCleanupOptions
{
    /// <summary>
    /// Removes only orphans that would still live longer than this (or have no TTL); the others are left to expire on their
    /// own. Null (the default) removes every orphan. The job cleans only when its sample saw an orphan living longer.
    /// </summary>
    public TimeSpan? MaxOrphanLifetime { get; set; }

    /// <summary>The job cleans only when the estimated orphan count exceeds this; null (the default) for no count condition. Ignored by an on-demand cleanup.</summary>
    public long? MaxOrphans { get; set; }

    /// <summary>Keys per SCAN page and entries per check-and-remove batch (1–10,000; default 500): each command stays short.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>The most entries checked (and possibly removed) per second, so a cleanup does not crowd out the application's traffic; default 2,000, null for no limit.</summary>
    public int? KeysPerSecond { get; set; } = 2_000;

    /// <summary>Entries the job samples to estimate the orphans before deciding to clean (1–1,000,000; default 1,000).</summary>
    public int SampleSize { get; set; } = 1_000;

    /// <summary>How often the job runs (1 s – 7 days; default 1 h); its first run is one interval after start-up.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Whether a count (from a sample) calls for a cleanup under these thresholds.</summary>
    internal bool CallsForCleanup(OrphanReport count) =>
        (MaxOrphans is not { } maxOrphans || count.EstimatedOrphans > maxOrphans)
        && (MaxOrphanLifetime is { } lifetime ? count.OrphansFound > 0 && count.MaxRemainingLifetime > lifetime : count.OrphansFound > 0);

    /// <summary>What is wrong with these options, each message naming the option under <paramref name="name"/>.</summary>
    internal List<string> Failures(string name)
    {
        var failures = new List<string>();
        if (MaxOrphanLifetime is { } lifetime && lifetime < TimeSpan.Zero)
        {
            failures.Add($"{name}.{nameof(MaxOrphanLifetime)} must not be negative; it is {lifetime}.");
        }

        if (MaxOrphans is < 0)
        {
            failures.Add($"{name}.{nameof(MaxOrphans)} must not be negative; it is {MaxOrphans}.");
        }

        if (BatchSize is < 1 or > 10_000)
        {
            failures.Add($"{name}.{nameof(BatchSize)} must be in [1, 10,000]; it is {BatchSize}.");
        }

        if (KeysPerSecond is < 1)
        {
            failures.Add($"{name}.{nameof(KeysPerSecond)} must be positive (or null for no limit); it is {KeysPerSecond}.");
        }

        if (SampleSize is < 1 or > 1_000_000)
        {
            failures.Add($"{name}.{nameof(SampleSize)} must be in [1, 1,000,000]; it is {SampleSize}.");
        }

        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromDays(7))
        {
            failures.Add($"{name}.{nameof(Interval)} must be between 1 s and 7 days; it is {Interval}.");
        }

        return failures;
    }
}
