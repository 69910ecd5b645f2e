using CacheInvalidation.Keys;
using CacheInvalidation.Local;
using CacheInvalidation.Tests.Integration;

namespace CacheInvalidation.Tests.Local;

/// <summary>The proof a node keeps per shard, step by step, without a server: sequences, confirmations, resets.</summary>
public sealed class LocalShardTests
{
    private const long Budget = 1_000;
    private static readonly VersionScope Scope = new KeyLayout("p", "t", 1).Address(CacheKey.Create("ns", "id")).Scope;

    [Fact]
    public void Nothing_is_trusted_before_the_first_confirmation_which_flushes()
    {
        var shard = new LocalShard("t", Scope.Tag);
        LocalScope scope = shard.Scope(Scope);
        int epoch = scope.Epoch;

        Assert.False(shard.IsTrusted(now: 0, Budget));
        shard.Confirm(sequence: 10, sentAt: 100, shard.Resets);

        Assert.NotEqual(epoch, scope.Epoch); // whatever entered before could not be accounted for
        Assert.True(shard.IsTrusted(now: 100 + Budget, Budget));
        Assert.False(shard.IsTrusted(now: 101 + Budget, Budget));
    }

    [Fact]
    public void Skipped_number_flushes_the_shard()
    {
        using var metrics = new MetricRecorder();
        var shard = new LocalShard("t", Scope.Tag);
        LocalScope scope = shard.Scope(Scope);
        shard.Confirm(10, 100, shard.Resets);
        int epoch = scope.Epoch;

        shard.ApplyAnnounced(11, 0, static _ => { });
        Assert.Equal(epoch, scope.Epoch);
        shard.ApplyAnnounced(13, 0, static _ => { }); // 12 never came

        Assert.NotEqual(epoch, scope.Epoch);
        Assert.Equal(1, metrics["cacheinvalidation.local.gaps"]);
    }

    [Fact]
    public void Confirmation_waits_for_messages_on_their_way_and_flushes_when_they_never_come()
    {
        var shard = new LocalShard("t", Scope.Tag);
        LocalScope scope = shard.Scope(Scope);
        shard.Confirm(10, 100, shard.Resets);

        shard.Confirm(12, 200, shard.Resets); // 11 and 12 committed before 200, not applied yet
        Assert.Equal(100, shard.ConfirmedAt);
        shard.ApplyAnnounced(11, 0, static _ => { });
        Assert.Equal(100, shard.ConfirmedAt);
        shard.ApplyAnnounced(12, 0, static _ => { });
        Assert.Equal(200, shard.ConfirmedAt); // the proof completed by the messages

        shard.Confirm(14, 300, shard.Resets);
        int epoch = scope.Epoch;
        shard.Confirm(14, 400, shard.Resets); // 13 and 14 still missing a round later: lost

        Assert.NotEqual(epoch, scope.Epoch);
        Assert.Equal(400, shard.ConfirmedAt);
    }

    [Fact]
    public void Reset_distrusts_and_ignores_a_confirmation_sent_before_it()
    {
        var shard = new LocalShard("t", Scope.Tag);
        LocalScope scope = shard.Scope(Scope);
        shard.Confirm(10, 100, shard.Resets);
        int resetsBefore = shard.Resets;
        int epoch = scope.Epoch;

        shard.Reset();
        shard.Confirm(10, 150, resetsBefore); // sent before the connection was lost: proves nothing

        Assert.NotEqual(epoch, scope.Epoch);
        Assert.False(shard.IsTrusted(now: 160, Budget));
        shard.Confirm(10, 200, shard.Resets);
        Assert.True(shard.IsTrusted(now: 210, Budget));
    }

    [Fact]
    public void Insert_is_refused_when_anything_of_the_shard_changed_since_the_read_began()
    {
        var shard = new LocalShard("t", Scope.Tag);
        LocalScope scope = shard.Scope(Scope);
        shard.Confirm(10, 100, shard.Resets);
        int inserted = 0;

        LocalGuard before = shard.Capture(scope);
        shard.ApplyAnnounced(11, 0, static _ => { });
        Assert.False(shard.InsertIfUnchanged(before, 0, _ => inserted++));

        LocalGuard after = shard.Capture(scope);
        Assert.True(shard.InsertIfUnchanged(after, 0, _ => inserted++));
        Assert.Equal(1, inserted);
    }

    [Fact]
    public void Version_bump_voids_only_the_scopes_under_that_version()
    {
        var layout = new KeyLayout("p", "t", 1);
        VersionScope docs = layout.Address(CacheKey.Create("docs", "a")).Scope;
        VersionScope users = layout.Address(CacheKey.Create("users", "a")).Scope;
        var shard = new LocalShard("t", docs.Tag);
        LocalScope docsScope = shard.Scope(docs);
        LocalScope usersScope = shard.Scope(users);
        (int d, int u) = (docsScope.Epoch, usersScope.Epoch);

        shard.VoidScopesOf(layout.NamespaceVersionKeys("docs", "ns")[0]);
        Assert.NotEqual(d, docsScope.Epoch);
        Assert.Equal(u, usersScope.Epoch);

        shard.VoidScopesOf(layout.GlobalVersionKeys()[0]);
        Assert.NotEqual(u, usersScope.Epoch);
    }
}
