using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;

namespace CacheInvalidation;

// The ICacheInvalidator half of the facade (SmartCache.cs holds the reads and writes): every kind goes through the
// invalidation runner, which checks the layout, journals what Redis did not confirm and detaches loads in flight.
public sealed partial class SmartCache
{
    /// <inheritdoc/>
    public async ValueTask<bool> InvalidateKeyAsync(CacheKey key, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = _tenants.Current;
        EntryAddress address = layout.Address(key);
        cancellationToken.ThrowIfCancellationRequested();
        return await _invalidations.RunAsync(
            "key", key.ToString(), new JournalEntry(JournalKind.Key, layout.Tenant, key), () => _store.DeleteAsync(address, cancellationToken), cancellationToken, address.EntryKey).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask<bool> RemoveAsync(CacheKey key, CancellationToken cancellationToken = default) =>
        InvalidateKeyAsync(key, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask InvalidateAllAsync(CancellationToken cancellationToken = default)
    {
        KeyLayout layout = _tenants.Current;
        cancellationToken.ThrowIfCancellationRequested();
        await _invalidations.RunAsync("all", layout.Tenant, new JournalEntry(JournalKind.All, layout.Tenant), () => _versions.BumpGlobalAsync(layout, cancellationToken), cancellationToken).ConfigureAwait(false);
        Log.InvalidatedAll(_logger, layout.Tenant, layout.Shards);
    }

    /// <inheritdoc/>
    public async ValueTask<long> InvalidateSourceAsync(string source, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = _tenants.Current;
        SourceKeys keys = layout.Source(source);
        cancellationToken.ThrowIfCancellationRequested();
        return await _invalidations.RunAsync(
            "source", source, new JournalEntry(JournalKind.Sources, layout.Tenant, Targets: [source]), () => _dependencies.InvalidateAsync(keys, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<long> InvalidateSourcesAsync(IEnumerable<string> sources, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        KeyLayout layout = _tenants.Current;
        string[] names = sources.Distinct(StringComparer.Ordinal).ToArray();
        SourceKeys[] keys = names.Select(s => layout.Source(s)).ToArray();
        cancellationToken.ThrowIfCancellationRequested();
        return await _invalidations.RunAsync(
            "source", string.Join(", ", names), new JournalEntry(JournalKind.Sources, layout.Tenant, Targets: names), () => _dependencies.InvalidateAsync(keys, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask<NamespaceInvalidationReport> InvalidateNamespaceAsync(
        string namespaceName,
        NamespaceInvalidationOptions? options = null,
        IProgress<NamespaceInvalidationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        InvalidateNamespaceAsync(namespaceName, options, progress, scansPaused: false, cancellationToken);

    /// <summary>
    /// The namespace invalidation, scan and all — unless the kill switch is engaged (or <paramref name="scansPaused"/>,
    /// the event consumer's own switch): then only the version bump, which voids at least what the scan would delete.
    /// </summary>
    internal async ValueTask<NamespaceInvalidationReport> InvalidateNamespaceAsync(
        string namespaceName,
        NamespaceInvalidationOptions? options,
        IProgress<NamespaceInvalidationProgress>? progress,
        bool scansPaused,
        CancellationToken cancellationToken)
    {
        KeyLayout layout = _tenants.Current;
        KeyPart.ValidateHierarchical(namespaceName, nameof(namespaceName));
        cancellationToken.ThrowIfCancellationRequested();
        if ((scansPaused ? "consumer option PauseNamespaceScans" : await KillSwitchEngagedByAsync(namespaceName, cancellationToken).ConfigureAwait(false)) is { } engagedBy)
        {
            long started = _time.GetTimestamp();
            await InvalidateNamespaceVersionAsync(namespaceName, cancellationToken).ConfigureAwait(false);
            _killSwitch.Held("namespace", "diverted");
            Log.NamespaceScanDiverted(_logger, engagedBy, namespaceName);
            return new NamespaceInvalidationReport(namespaceName, 0, 0, _time.GetElapsedTime(started)) { ScanSuspended = true };
        }

        return await _invalidations.RunAsync(
            "namespace",
            namespaceName,
            new JournalEntry(JournalKind.Namespace, layout.Tenant, Targets: [namespaceName]),
            () => _namespaces.InvalidateAsync(layout, namespaceName, nameof(namespaceName), options ?? new NamespaceInvalidationOptions(), progress, cancellationToken),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Who engaged the kill switch, or null. When Redis cannot tell, the scan is held back too: the version bump that
    /// replaces it is the invalidation itself (journaled if Redis does not confirm it), only the reclaiming is skipped.
    /// </summary>
    private async Task<string?> KillSwitchEngagedByAsync(string namespaceName, CancellationToken cancellationToken)
    {
        try
        {
            return await _killSwitch.EngagedByAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            Log.KillSwitchUnreadable(_logger, namespaceName, ex);
            return "unknown: the switch could not be read";
        }
    }

    /// <inheritdoc/>
    public async ValueTask InvalidateNamespaceVersionAsync(string namespaceName, CancellationToken cancellationToken = default)
    {
        KeyLayout layout = _tenants.Current;
        KeyPart.ValidateHierarchical(namespaceName, nameof(namespaceName));
        cancellationToken.ThrowIfCancellationRequested();
        await _invalidations.RunAsync("namespace", namespaceName, new JournalEntry(JournalKind.Namespace, layout.Tenant, Targets: [namespaceName]), () => _versions.BumpNamespaceAsync(layout, namespaceName, nameof(namespaceName), cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A whole pruning pass over a source's index: removes members whose entry and lease are gone.</summary>
    internal Task<long> PruneSourceIndexAsync(string source, CancellationToken cancellationToken = default) =>
        _dependencies.PruneAsync(_tenants.Current.Source(source).Index, cancellationToken);

    /// <summary>
    /// Voids every entry of every tenant of the prefix (bumps their global versions), when invalidations may have been lost
    /// and which cannot be known — an event stream with a gap, a consumer group lost with the server's data.
    /// </summary>
    internal async Task<long> VoidEveryTenantAsync(CancellationToken cancellationToken)
    {
        long bumped = await _versions.BumpEveryTenantAsync(_keyspace, _tenants.Default.Prefix, cancellationToken).ConfigureAwait(false);
        _readThrough.DetachAll();
        _freshness.ForgetAll();
        _storms.BroadInvalidation();
        _metrics.Invalidation("all-tenants");
        return bumped;
    }
}
