using System.Text;

namespace Coffre.Objects;

/// <summary>Validation of bucket and object names, with S3's rules.</summary>
public static class ObjectNames
{
    public const int MaxObjectNameBytes = 1024;

    /// <summary>S3 general-purpose bucket naming: 3–63 chars, lowercase letters, digits, '.', '-', starting and ending alphanumeric, not an IP address.</summary>
    public static void ValidateBucket(string name)
    {
        static bool Edge(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';
        var ok = name.Length is >= 3 and <= 63
                 && Edge(name[0]) && Edge(name[^1])
                 && name.All(c => Edge(c) || c is '.' or '-')
                 && !name.Contains("..")
                 && !System.Net.IPAddress.TryParse(name, out _);
        if (!ok)
            throw new ObjectStoreException(ObjectError.InvalidBucketName,
                $"The bucket name '{name}' is not valid: use 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.");
    }

    public static byte[] ValidateObject(string name)
    {
        if (name.Length == 0)
            throw new ObjectStoreException(ObjectError.InvalidObjectName, "An object name cannot be empty.");
        var bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length > MaxObjectNameBytes)
            throw new ObjectStoreException(ObjectError.InvalidObjectName, $"An object name is at most {MaxObjectNameBytes} bytes of UTF-8; this one is {bytes.Length}.");
        return bytes;
    }
}
