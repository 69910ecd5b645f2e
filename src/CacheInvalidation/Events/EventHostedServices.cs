using Microsoft.Extensions.Hosting;

namespace CacheInvalidation.Events;

/// <summary>Runs the <see cref="InvalidationConsumer"/> for the host's lifetime; on shutdown the entry in hand is finished and the rest released.</summary>
internal sealed class InvalidationConsumerService(InvalidationConsumer consumer) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => consumer.RunAsync(stoppingToken);
}

/// <summary>Runs the <see cref="OutboxRelay"/> for the host's lifetime.</summary>
internal sealed class OutboxRelayService(OutboxRelay relay) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => relay.RunAsync(stoppingToken);
}
