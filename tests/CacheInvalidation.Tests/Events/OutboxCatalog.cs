using Microsoft.EntityFrameworkCore;

namespace CacheInvalidation.Tests.Events;

/// <summary>The products table of the event tests, as an EF Core model with the invalidation outbox (SQLite and PostgreSQL).</summary>
internal sealed class Product
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public double Price { get; set; }

    public long Version { get; set; }
}

internal sealed class CatalogContext(DbContextOptions<CatalogContext> options) : DbContext(options)
{
    public DbSet<Product> Products => Set<Product>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Product>(p =>
        {
            p.ToTable("products");
            p.Property(x => x.Id).HasColumnName("id").ValueGeneratedNever();
            p.Property(x => x.Name).HasColumnName("name");
            p.Property(x => x.Price).HasColumnName("price");
            p.Property(x => x.Version).HasColumnName("version");
        });
        modelBuilder.AddInvalidationOutbox();
    }
}

/// <summary>
/// Runs relays side by side until none finds a row three passes running; returns what each published. Each relay holds
/// its first batch (published, not yet marked) until every relay holds one (at most 20 s, below the 30 s claim timeout):
/// on a loaded machine the first relay could otherwise drain the table before the others opened their connections, and
/// nothing would run "at once". Claims that let two relays take the same rows show as duplicates; claims that block the
/// others while one holds a batch show as a relay that published nothing.
/// </summary>
internal static class Relays
{
    public static Task<int[]> DrainAsync(IReadOnlyList<CacheInvalidation.Events.OutboxRelay> relays)
    {
        var everyRelayHoldsOne = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int holding = 0;
        foreach (CacheInvalidation.Events.OutboxRelay relay in relays)
        {
            int batches = 0;
            relay.AfterPublish = async _ =>
            {
                if (++batches == 1)
                {
                    if (Interlocked.Increment(ref holding) == relays.Count)
                    {
                        everyRelayHoldsOne.TrySetResult();
                    }

                    await Task.WhenAny(everyRelayHoldsOne.Task, Task.Delay(TimeSpan.FromSeconds(20)));
                }
            };
        }

        return Task.WhenAll(relays.Select(async relay =>
        {
            int total = 0;
            for (int none = 0; none < 3;)
            {
                int n = await relay.RelayOnceAsync();
                total += n;
                none = n == 0 ? none + 1 : 0;
            }

            return total;
        }));
    }
}
