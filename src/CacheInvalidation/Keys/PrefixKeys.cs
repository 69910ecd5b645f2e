namespace CacheInvalidation.Keys;

/// <summary>
/// The keys of a whole prefix, across its tenants: the patterns the all-tenant scans use with their exact rules, and the
/// prefix's own keys outside every tenant (event and audit streams, layout marker, kill switch), so no purge removes them.
/// Part of the one key schema described on <see cref="KeyLayout"/>.
/// </summary>
internal static class PrefixKeys
{
    /// <summary>The SCAN pattern of every key under a prefix, all tenants; <see cref="IsPrefixKey"/> is the exact rule.</summary>
    public static string PrefixPattern(string prefix)
    {
        KeyPart.ValidateHierarchical(prefix, nameof(prefix));
        return "{" + prefix + ":*#*";
    }

    /// <summary>Whether <paramref name="key"/> is a key of some tenant of exactly <paramref name="prefix"/> (not of a longer prefix that starts with it).</summary>
    public static bool IsPrefixKey(string prefix, string key)
    {
        if (key.Length < prefix.Length + 4 || key[0] != '{' || string.CompareOrdinal(key, 1, prefix, 0, prefix.Length) != 0 || key[prefix.Length + 1] != ':')
        {
            return false;
        }

        // The tenant is one segment: the root ends at the first '#', with no ':' between the prefix and it.
        int rootEnd = key.IndexOf('#', prefix.Length + 2);
        return rootEnd > prefix.Length + 2 && key.IndexOf(':', prefix.Length + 2, rootEnd - prefix.Length - 2) < 0;
    }

    /// <summary>The SCAN pattern of every tenant's global version keys under a prefix; <see cref="IsGlobalVersionKey"/> is the exact rule.</summary>
    public static string GlobalVersionPattern(string prefix) => "{" + prefix + ":*#*}" + KeyLayout.VersionSuffix;

    /// <summary>Whether <paramref name="key"/> is the global version key of a shard of some tenant of exactly <paramref name="prefix"/>.</summary>
    public static bool IsGlobalVersionKey(string prefix, string key)
    {
        if (!IsPrefixKey(prefix, key) || !key.EndsWith("}" + KeyLayout.VersionSuffix, StringComparison.Ordinal))
        {
            return false;
        }

        int rootEnd = key.IndexOf('#', StringComparison.Ordinal);
        int tagEnd = key.Length - KeyLayout.VersionSuffix.Length - 1;
        return tagEnd > rootEnd + 1 && key.AsSpan(rootEnd + 1, tagEnd - rootEnd - 1).IndexOfAnyExceptInRange('0', '9') < 0;
    }

    /// <summary>The SCAN pattern of every tenant's invalidation sequences under a prefix; <see cref="IsSequenceKey"/> is the exact rule.</summary>
    public static string SequencePattern(string prefix) => "{" + prefix + ":*#*}" + KeyLayout.SequenceSuffix;

    /// <summary>Whether <paramref name="key"/> is the invalidation sequence of a shard of some tenant of exactly <paramref name="prefix"/>.</summary>
    public static bool IsSequenceKey(string prefix, string key) =>
        key.EndsWith("}" + KeyLayout.SequenceSuffix, StringComparison.Ordinal)
        && IsGlobalVersionKey(prefix, key[..^KeyLayout.SequenceSuffix.Length] + KeyLayout.VersionSuffix);

    /// <summary>The default invalidation event stream of a prefix; outside every tenant's keys.</summary>
    public static string EventStreamKey(string prefix) => $"{{{prefix}}}:events";

    /// <summary>
    /// The marker of how a prefix's keys are laid out (its version shards), written by the first write or invalidation and
    /// kept: applications that share a prefix with another layout would miss each other's invalidations. Outside every
    /// tenant's keys, so no purge removes it.
    /// </summary>
    public static string LayoutKey(string prefix) => $"{{{prefix}}}:layout";

    /// <summary>The audit stream of a prefix; outside every tenant's keys so that no purge can remove it.</summary>
    public static string AuditStreamKey(string prefix) => $"{{{prefix}}}:audit";

    /// <summary>
    /// The kill switch of a prefix (a small hash: suspended, actor, reason, time), read by every node before an aggressive
    /// invalidation. Outside every tenant's keys, so no purge removes it; it shares the audit stream's hash tag, so a
    /// change and its audit record are written in one transaction.
    /// </summary>
    public static string KillSwitchKey(string prefix) => $"{{{prefix}}}:kill-switch";
}
