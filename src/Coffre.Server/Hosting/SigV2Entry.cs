using Coffre.Server.Observability;
using Coffre.Server.S3;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Coffre.Server.Hosting;

/// <summary>
/// The S3 face's entry point for Signature Version 2 requests (<see cref="SigV2Verifier"/>): verified, then handed to the
/// S3 face exactly as a SigV4 request is, or refused with S3's error (SignatureDoesNotMatch carries the string to sign
/// and its bytes, as S3 shows them, so a client can compare it with its own).
/// </summary>
internal static class SigV2Entry
{
    public static async Task HandleAsync(HttpContext http, IServiceProvider services, Metrics metrics, SigV4Request request, string? hostBucket)
    {
        var result = services.GetRequiredService<SigV2Verifier>().Verify(request, hostBucket);
        if (result.IsSuccess)
        {
            await services.GetRequiredService<S3Face>().HandleAsync(http, result.Context!, hostBucket);
            return;
        }
        Dictionary<string, string>? extra = null;
        if (result.Error == SigV4Error.SignatureDoesNotMatch)
            extra = new Dictionary<string, string>
            {
                ["AWSAccessKeyId"] = result.AccessKeyId!,
                ["StringToSign"] = result.StringToSign!,
                ["SignatureProvided"] = result.SignatureProvided!,
                ["StringToSignBytes"] = SigV2Canonicalizer.Bytes(result.StringToSign!),
            };
        var error = new S3Error(result.Error.ToS3Code(), result.Error.ToS3HttpStatus(), result.Message);
        metrics.Request(MetricFace.S3, "Authenticate", error.Code, TimeSpan.Zero);
        await S3Face.WriteErrorAsync(http, error, result.Message, S3Face.NewRequestId(), extra);
    }
}
