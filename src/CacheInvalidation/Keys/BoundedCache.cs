using System.Collections.Concurrent;

namespace CacheInvalidation.Keys;

/// <summary>
/// A concurrent map that holds at most about <c>capacity</c> items: past it, an arbitrary eighth is dropped. For values
/// that are cheap to rebuild and must not grow without bound when their keys come from user input (namespaces, tenants).
/// </summary>
internal sealed class BoundedCache<TKey, TValue>(int capacity)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _items = new();
    private int _count;
    private int _trimming;

    public int Count => Volatile.Read(ref _count);

    public TValue GetOrAdd<TArg>(TKey key, Func<TKey, TArg, TValue> create, TArg argument)
    {
        if (_items.TryGetValue(key, out TValue? value))
        {
            return value;
        }

        value = create(key, argument);
        if (!_items.TryAdd(key, value))
        {
            return _items.TryGetValue(key, out TValue? existing) ? existing : value;
        }

        if (Interlocked.Increment(ref _count) > capacity)
        {
            Trim();
        }

        return value;
    }

    public bool TryGetValue(TKey key, out TValue? value) => _items.TryGetValue(key, out value);

    public void Set(TKey key, TValue value)
    {
        bool added = false;
        _items.AddOrUpdate(key, _ => { added = true; return value; }, (_, _) => value);
        if (added && Interlocked.Increment(ref _count) > capacity)
        {
            Trim();
        }
    }

    public void Remove(TKey key)
    {
        if (_items.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private void Trim()
    {
        if (Interlocked.Exchange(ref _trimming, 1) == 1)
        {
            return;
        }

        try
        {
            // Enumerating a ConcurrentDictionary takes no lock and tolerates removals as it goes.
            int drop = Math.Max(1, capacity / 8);
            foreach (KeyValuePair<TKey, TValue> item in _items)
            {
                if (drop-- <= 0)
                {
                    break;
                }

                Remove(item.Key);
            }
        }
        finally
        {
            Volatile.Write(ref _trimming, 0);
        }
    }
}
