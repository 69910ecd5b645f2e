using CacheInvalidation.EntityFrameworkCore;
using CacheInvalidation.Events;

namespace Microsoft.EntityFrameworkCore;

/// <summary>The invalidation outbox in an EF Core model and its <c>SaveChanges</c>.</summary>
public static class InvalidationOutboxEntityFrameworkExtensions
{
    /// <summary>
    /// Maps the outbox table in the model, so <see cref="AddInvalidationEvent"/> appends rows through <c>SaveChanges</c>.
    /// The table is excluded from migrations: create it (with its indexes, and on PostgreSQL its insert notification) with
    /// <see cref="InvalidationOutbox.EnsureSchemaAsync"/> on the context's connection
    /// (<c>db.Database.GetDbConnection()</c>) at start-up.
    /// </summary>
    /// <param name="modelBuilder">The model being built (in <c>OnModelCreating</c>).</param>
    /// <param name="tableName">The outbox table: the relay's <see cref="OutboxRelayOptions.TableName"/>.</param>
    /// <returns>The model builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modelBuilder"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="tableName"/> is not a plain SQL identifier.</exception>
    public static ModelBuilder AddInvalidationOutbox(this ModelBuilder modelBuilder, string tableName = "cache_invalidation_outbox")
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        string table = new InvalidationOutbox(tableName).TableName; // validates the name
        modelBuilder.Entity<OutboxMessage>(row =>
        {
            row.ToTable(table, t => t.ExcludeFromMigrations());
            row.HasKey(m => m.Id);
            row.Property(m => m.Id).HasColumnName("id").HasMaxLength(64);
            row.Property(m => m.CreatedTicks).HasColumnName("created_ticks");
            row.Property(m => m.Payload).HasColumnName("payload");
            row.Property(m => m.DispatchedAt).HasColumnName("dispatched_at").HasMaxLength(40);
            row.Property(m => m.ClaimedBy).HasColumnName("claimed_by").HasMaxLength(64);
            row.Property(m => m.ClaimedUntil).HasColumnName("claimed_until");
        });
        return modelBuilder;
    }

    /// <summary>
    /// Adds <paramref name="invalidationEvent"/> to the outbox in the context's change tracker: the next
    /// <c>SaveChanges</c> inserts it in the same transaction as the application's changes, so it is published only if
    /// they commit (an explicit transaction's rollback, or a failing <c>SaveChanges</c>, publishes nothing).
    /// </summary>
    /// <param name="context">The application's context, whose model called <see cref="AddInvalidationOutbox"/>.</param>
    /// <param name="invalidationEvent">What the change invalidates.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The event names an invalid key, source, namespace or tenant (the message names it).</exception>
    /// <exception cref="InvalidOperationException">The context's model has no outbox: call <see cref="AddInvalidationOutbox"/> in <c>OnModelCreating</c>.</exception>
    public static void AddInvalidationEvent(this DbContext context, InvalidationEvent invalidationEvent)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(invalidationEvent);
        if (context.Model.FindEntityType(typeof(OutboxMessage)) is null)
        {
            throw new InvalidOperationException(
                $"The model of {context.GetType().Name} has no invalidation outbox: call modelBuilder.{nameof(AddInvalidationOutbox)}() in OnModelCreating.");
        }

        InvalidationOutbox.Validate(invalidationEvent);
        context.Set<OutboxMessage>().Add(new OutboxMessage
        {
            Id = invalidationEvent.Id,
            CreatedTicks = DateTime.UtcNow.Ticks,
            Payload = InvalidationEventJson.Serialize(invalidationEvent),
        });
    }
}
