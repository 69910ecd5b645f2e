namespace CacheInvalidation.Tests.Integration;

public sealed record Product(int Id, string Name, decimal Price, int Version);
