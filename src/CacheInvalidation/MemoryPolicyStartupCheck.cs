using Microsoft.Extensions.Hosting;

namespace CacheInvalidation;

/// <summary>Runs the memory-policy check when the host starts, if <see cref="MemoryPolicyOptions.CheckOnStart"/> asks for it; never fails the start.</summary>
internal sealed class MemoryPolicyStartupCheck(SmartCacheOptions options, ISmartCacheAdministration administration) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Memory.CheckOnStart)
        {
            // The report logs its own findings; CONFIG problems are warnings inside it, never exceptions.
            await administration.InspectMemoryPolicyAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
