using System.Collections.Concurrent;

namespace CacheInvalidation.Tests.Orphans;

/// <summary>
/// A fake clock that only moves when its user waits: each timer (a <c>Task.Delay</c> on it) records the delay asked for,
/// advances the clock by exactly that much and fires at once. The delays a paced job asked for are then its pacing,
/// measured without any wall-clock time.
/// </summary>
internal sealed class PacingClock : TimeProvider
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly ConcurrentQueue<TimeSpan> _delays = new();
    private long _ticks;

    /// <summary>Every delay asked for, in order.</summary>
    public IReadOnlyList<TimeSpan> Delays => [.. _delays];

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => Start.AddTicks(Interlocked.Read(ref _ticks));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        _delays.Enqueue(dueTime);
        Interlocked.Add(ref _ticks, dueTime.Ticks);
        ThreadPool.QueueUserWorkItem(_ => callback(state));
        return new FiredTimer();
    }

    private sealed class FiredTimer : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => false;

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
