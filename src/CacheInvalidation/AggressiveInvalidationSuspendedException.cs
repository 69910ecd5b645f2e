namespace CacheInvalidation;

/// <summary>
/// An aggressive invalidation (a tenant or global purge) was refused because the kill switch is engaged: nothing was
/// voided or deleted, and the refusal is in the audit stream. The message says which switch is engaged and how to lift
/// it (<see cref="ISmartCacheAdministration.ResumeAggressiveInvalidationAsync"/>, or
/// <see cref="SmartCacheOptions.SuspendAggressiveInvalidation"/> set back to false).
/// </summary>
public sealed class AggressiveInvalidationSuspendedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public AggressiveInvalidationSuspendedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AggressiveInvalidationSuspendedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public AggressiveInvalidationSuspendedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
