using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Diagnostics;

/// <summary>The messages of the outbox relay's wake-ups and the consumers' (event ids 240–249).</summary>
internal static partial class Log
{
    [LoggerMessage(240, LogLevel.Warning, "The outbox relay's wake signal failed; it polls meanwhile.")]
    public static partial void RelayWakeFailed(ILogger logger, Exception exception);

    [LoggerMessage(241, LogLevel.Warning, "The consumer could not subscribe to the relay's announcements on {Channel}; it polls meanwhile.")]
    public static partial void ConsumerWakeUnavailable(ILogger logger, string channel, Exception exception);
}
