namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>Waits for an effect by polling with a deadline (never a bare sleep): fails the test, naming what, if it does not come.</summary>
internal static class Eventually
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static async Task HoldsAsync(Func<Task<bool>> condition, string what = "the condition did not hold in time")
    {
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(5);
        }
    }

    public static Task HoldsAsync(Func<bool> condition, string what = "the condition did not hold in time") =>
        HoldsAsync(() => Task.FromResult(condition()), what);
}
