using CacheInvalidation.Client;
using Microsoft.Extensions.Time.Testing;

namespace CacheInvalidation.Tests.Faults;

public sealed class CircuitBreakerTests
{
    private readonly FakeTimeProvider _clock = new();
    private readonly CircuitBreaker _breaker;
    private int _opened;
    private int _closed;

    public CircuitBreakerTests()
    {
        _breaker = new CircuitBreaker(
            new CacheResilienceOptions { FailureRatio = 0.5, MinimumThroughput = 10, SamplingDuration = TimeSpan.FromSeconds(5), BreakDuration = TimeSpan.FromSeconds(2) },
            _clock);
        _breaker.Opened += _ => _opened++;
        _breaker.ClosedAgain += () => _closed++;
    }

    private void Call(bool fails)
    {
        Assert.True(_breaker.TryEnter(out bool probe));
        if (fails)
        {
            _breaker.Failed(probe);
        }
        else
        {
            _breaker.Succeeded(probe);
        }
    }

    [Fact]
    public void Opens_only_once_enough_calls_failed_in_the_window()
    {
        for (int i = 0; i < 9; i++)
        {
            Call(fails: true); // nine failures: below the minimum throughput
        }

        Assert.False(_breaker.IsOpen);
        Call(fails: true);

        Assert.True(_breaker.IsOpen);
        Assert.False(_breaker.TryEnter(out _));
        Assert.Equal(1, _opened);
    }

    [Fact]
    public void Stays_closed_while_most_calls_succeed_and_forgets_old_windows()
    {
        for (int i = 0; i < 100; i++)
        {
            Call(fails: i % 3 == 0); // a third fail
        }

        Assert.False(_breaker.IsOpen);
        for (int i = 0; i < 8; i++)
        {
            Call(fails: true);
        }

        _clock.Advance(TimeSpan.FromSeconds(6)); // a new window: the earlier calls no longer count
        for (int i = 0; i < 5; i++)
        {
            Call(fails: true);
        }

        Assert.False(_breaker.IsOpen);
        Assert.Equal(0, _opened);
    }

    [Fact]
    public void After_the_break_one_call_probes_its_success_closes_its_failure_opens_again()
    {
        for (int i = 0; i < 10; i++)
        {
            Call(fails: true);
        }

        _clock.Advance(TimeSpan.FromSeconds(2.1));
        Assert.True(_breaker.TryEnter(out bool probe));
        Assert.True(probe);
        Assert.False(_breaker.TryEnter(out _)); // only one probe at a time
        _breaker.Failed(probe);
        Assert.True(_breaker.IsOpen);
        Assert.Equal(2, _opened);

        _clock.Advance(TimeSpan.FromSeconds(2.1));
        Assert.True(_breaker.TryEnter(out probe));
        _breaker.Succeeded(probe);

        Assert.False(_breaker.IsOpen);
        Assert.True(_breaker.TryEnter(out bool next));
        Assert.False(next);
        Assert.Equal(1, _closed);
    }

    [Fact]
    public void An_abandoned_probe_lets_the_next_call_probe()
    {
        for (int i = 0; i < 10; i++)
        {
            Call(fails: true);
        }

        _clock.Advance(TimeSpan.FromSeconds(2.1));
        Assert.True(_breaker.TryEnter(out bool probe));
        _breaker.Abandoned(probe);

        Assert.True(_breaker.TryEnter(out bool again));
        Assert.True(again);
    }
}
