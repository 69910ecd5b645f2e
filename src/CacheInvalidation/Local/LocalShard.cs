using System.Collections.Concurrent;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Local;

/// <summary>
/// What a node knows about one shard of one tenant: which invalidations it applied (the shard's sequence), since when it
/// can prove it missed none (<see cref="ConfirmedAt"/>), and the epoch of each version scope whose entries it holds.
/// <para>
/// The proof: every invalidation advances the shard's sequence in the same atomic step as it voids entries in Redis, and
/// announces it with that number. Messages are applied in order; a number skipped means a message was lost, and the shard
/// is flushed. A confirmation read at time T that returns sequence q proves that every invalidation committed before T has
/// a number up to q, so once the node applied q (or flushed after reading it), it has applied all of them:
/// <see cref="ConfirmedAt"/> becomes T. An entry of a class with budget B is served only while now − ConfirmedAt ≤ B.
/// </para>
/// Every change happens under one lock, which insertions take too, so a value read before an invalidation is never
/// inserted after the node applied it.
/// </summary>
internal sealed class LocalShard(string tenant, string tag, CacheMetrics? metrics = null)
{
    private const long Unknown = long.MinValue;
    private const long Never = long.MinValue;

    private readonly object _gate = new();
    private readonly CacheMetrics _metrics = metrics ?? CacheMetrics.Shared;
    private readonly ConcurrentDictionary<VersionScope, LocalScope> _scopes = new();
    private long _applied = Unknown;
    private long _confirmedAt = Never;
    private long _pendingSequence;
    private long _pendingSentAt = Never;
    private int _changes;
    private int _resets;

    public string Tenant { get; } = tenant;

    public string Tag { get; } = tag;

    public string SequenceKey { get; } = KeyLayout.SequenceKeyOfTag(tag);

    public string Channel { get; } = KeyLayout.ChannelOfTag(tag);

    /// <summary>The timestamp before the last confirmation that proved nothing was missed; <see cref="long.MinValue"/> when none did.</summary>
    public long ConfirmedAt => Volatile.Read(ref _confirmedAt);

    /// <summary>How often the shard was reset (a lost connection); a confirmation read started before a reset proves nothing.</summary>
    public int Resets => Volatile.Read(ref _resets);

    /// <summary>Whether the node has applied every invalidation of this shard committed more than <paramref name="budgetTicks"/> before <paramref name="now"/>.</summary>
    public bool IsTrusted(long now, long budgetTicks)
    {
        long confirmedAt = Volatile.Read(ref _confirmedAt);
        return confirmedAt != Never && now - confirmedAt <= budgetTicks;
    }

    /// <summary>The node's state of a version scope of this shard.</summary>
    public LocalScope Scope(VersionScope scope) => _scopes.GetOrAdd(scope, static (s, shard) => new LocalScope(s, shard), this);

    /// <summary>Taken before the read whose value may be inserted: the insertion is refused if anything changed since.</summary>
    public LocalGuard Capture(LocalScope scope) => new(scope, scope.Epoch, Volatile.Read(ref _changes));

    /// <summary>Runs <paramref name="insert"/> if nothing of this shard changed since <paramref name="guard"/> was taken.</summary>
    public bool InsertIfUnchanged<TState>(in LocalGuard guard, TState state, Action<TState> insert)
    {
        lock (_gate)
        {
            if (_changes != guard.Changes || guard.Scope.Epoch != guard.Epoch)
            {
                return false;
            }

            insert(state);
            return true;
        }
    }

    /// <summary>Applies an invalidation this node ran itself: its effect, without sequence accounting (its message comes too).</summary>
    public void ApplyOwn<TState>(TState state, Action<TState> apply)
    {
        lock (_gate)
        {
            _changes++;
            apply(state);
        }
    }

    /// <summary>Applies an announced invalidation numbered <paramref name="sequence"/>; a number skipped flushes the shard.</summary>
    public void ApplyAnnounced<TState>(long sequence, TState state, Action<TState> apply)
    {
        lock (_gate)
        {
            _changes++;
            apply(state);
            if (_applied == Unknown)
            {
                return; // not confirmed yet: the first confirmation flushes whatever this could not account for
            }

            if (sequence > _applied + 1)
            {
                _metrics.LocalGap();
                FlushLocked("gap");
            }

            if (sequence > _applied)
            {
                _applied = sequence;
            }

            if (_pendingSentAt != Never && _applied >= _pendingSequence)
            {
                ConfirmLocked(_pendingSentAt);
            }
        }
    }

    /// <summary>
    /// A confirmation read, sent at <paramref name="sentAt"/> (before <paramref name="resets"/> resets), returned
    /// <paramref name="sequence"/>. Applied already: confirmed. Not yet: the messages may be on their way, so the proof
    /// waits for them; still missing at the next confirmation, they were lost: the shard is flushed.
    /// </summary>
    public void Confirm(long sequence, long sentAt, int resets)
    {
        lock (_gate)
        {
            if (resets != _resets)
            {
                return;
            }

            if (_applied == Unknown)
            {
                FlushLocked("start");
                _applied = sequence;
                ConfirmLocked(sentAt);
            }
            else if (_applied >= sequence)
            {
                ConfirmLocked(sentAt);
            }
            else if (_pendingSentAt != Never)
            {
                _metrics.LocalGap();
                FlushLocked("gap");
                _applied = sequence;
                ConfirmLocked(sentAt);
            }
            else
            {
                _pendingSequence = sequence;
                _pendingSentAt = sentAt;
            }
        }
    }

    /// <summary>After a lost connection: nothing is trusted, everything held is flushed, until a confirmation succeeds.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _resets++;
            FlushLocked("disconnect");
            _applied = Unknown;
            _pendingSentAt = Never;
            Volatile.Write(ref _confirmedAt, Never);
        }
    }

    /// <summary>Voids the entries held under <paramref name="versionKey"/> (a global version voids every scope of the shard).</summary>
    public void VoidScopesOf(string versionKey)
    {
        foreach (LocalScope scope in _scopes.Values)
        {
            if (Array.IndexOf(scope.Scope.VersionKeys, versionKey) >= 0)
            {
                scope.Void();
            }
        }
    }

    private void ConfirmLocked(long sentAt)
    {
        _pendingSentAt = Never;
        if (sentAt > _confirmedAt || _confirmedAt == Never)
        {
            Volatile.Write(ref _confirmedAt, sentAt);
        }
    }

    private void FlushLocked(string reason)
    {
        _changes++;
        foreach (LocalScope scope in _scopes.Values)
        {
            scope.Void();
        }

        _metrics.LocalFlush(reason);
    }
}

/// <summary>A version scope as a node holds it: entries inserted under an older <see cref="Epoch"/> are void.</summary>
internal sealed class LocalScope(VersionScope scope, LocalShard shard)
{
    private int _epoch;

    public VersionScope Scope { get; } = scope;

    public LocalShard Shard { get; } = shard;

    public int Epoch => Volatile.Read(ref _epoch);

    public void Void() => Interlocked.Increment(ref _epoch);
}

/// <summary>What a read saw before it went to Redis; its value may enter the local tier only if none of it changed.</summary>
internal readonly record struct LocalGuard(LocalScope Scope, int Epoch, int Changes);
