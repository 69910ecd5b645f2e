using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Diagnostics;

/// <summary>The messages of freshness verification and of the deploy and storm signals (event ids 200–209).</summary>
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Warning, "Freshness verification of cache {Cache}: {Report} — above the threshold of {Threshold:P2}. Divergent keys include {Keys}.")]
    public static partial void FreshnessThresholdExceeded(ILogger logger, string cache, string report, double threshold, string keys);

    [LoggerMessage(201, LogLevel.Information, "Freshness verification of cache {Cache}: {Report}.")]
    public static partial void FreshnessVerified(ILogger logger, string cache, string report);

    [LoggerMessage(202, LogLevel.Warning, "Freshness verification could not compare {Key} with its source; it is counted as an error.")]
    public static partial void FreshnessCheckFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(203, LogLevel.Warning, "The continuous freshness sampler of cache {Cache} failed; it starts again after {DelayMs} ms.")]
    public static partial void FreshnessSamplerFailed(ILogger logger, string cache, long delayMs, Exception exception);

    [LoggerMessage(204, LogLevel.Warning, "Invalidating the divergent entry {Key} failed; it is still reported.")]
    public static partial void FreshnessInvalidationFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(205, LogLevel.Warning, "Miss storm in cache {Cache}: {Misses} misses over {Keys} keys in {Seconds:0.#} s, cause: {Cause}.")]
    public static partial void MissStorm(ILogger logger, string cache, long misses, int keys, double seconds, string cause);
}
