namespace CacheInvalidation;

/// <summary>How a namespace scan paces itself.</summary>
public sealed class NamespaceInvalidationOptions
{
    private int _batchSize = 500;
    private int? _maxKeysPerSecond;

    /// <summary>Keys per SCAN page and per UNLINK batch (1–10,000; default 500): each command stays short.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside 1–10,000.</exception>
    public int BatchSize
    {
        get => _batchSize;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(BatchSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 10_000, nameof(BatchSize));
            _batchSize = value;
        }
    }

    /// <summary>The most keys deleted per second, so a large namespace does not crowd out the application's traffic; null for no limit.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative.</exception>
    public int? MaxKeysPerSecond
    {
        get => _maxKeysPerSecond;
        init
        {
            if (value is { } rate)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate, nameof(MaxKeysPerSecond));
            }

            _maxKeysPerSecond = value;
        }
    }
}
