namespace CacheInvalidation;

/// <summary>
/// The serializer cannot handle a type at all (no JSON metadata for it, or reflection disabled without a context): a
/// configuration error. Unlike an entry it cannot read or a value it cannot write, it reaches the caller, since the
/// cache would otherwise run every factory silently uncached.
/// </summary>
internal sealed class SerializerConfigurationException(string message) : InvalidOperationException(message);
