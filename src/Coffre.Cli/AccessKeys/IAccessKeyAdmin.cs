using Coffre.Server.Admin;

namespace Coffre.Cli.AccessKeys;

/// <summary>
/// What `coffre access-key` does, wherever it is done: offline on the data directory (<see cref="LocalAccessKeyAdmin"/>)
/// or through a running server's admin API (<see cref="RemoteAccessKeyAdmin"/>). Both speak the admin API's bodies,
/// so both print the same thing.
/// </summary>
public interface IAccessKeyAdmin : IDisposable
{
    Task<AccessKeyBody> CreateAsync(CreateAccessKeyBody request, CancellationToken ct);
    Task<IReadOnlyList<AccessKeyBody>> ListAsync(CancellationToken ct);
    Task<AccessKeyBody> ShowAsync(string accessKeyId, CancellationToken ct);
    Task<AccessKeyBody> GrantAsync(string accessKeyId, GrantAccessKeyBody request, CancellationToken ct);
    Task<AccessKeyBody> RevokeAsync(string accessKeyId, CancellationToken ct);
    Task<AccessKeyBody> RotateAsync(string accessKeyId, CancellationToken ct);
}
