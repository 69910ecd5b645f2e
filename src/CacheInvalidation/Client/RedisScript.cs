using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>
/// A Lua script sent as <c>EVALSHA</c>, so a call carries only the 20-byte digest. When the server does not know the
/// script (restart, <c>SCRIPT FLUSH</c>, a new cluster node) it answers NOSCRIPT, and the script is sent once with
/// <c>EVAL</c>, which also puts it back in the server's cache for the next calls.
/// </summary>
internal sealed class RedisScript(string text)
{
#pragma warning disable CA5350 // SHA-1 is what EVALSHA names scripts by; it is an identifier here, not security.
    private readonly byte[] _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350

    public string Text { get; } = text;

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
    {
        try
        {
            return await database.ScriptEvaluateAsync(_sha1, keys, values).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await database.ScriptEvaluateAsync(Text, keys, values).ConfigureAwait(false);
        }
    }
}
