using System.Text.Json;
using System.Text.Json.Serialization;

// Shared source, like AgentContracts.cs: compiled into the host runtime and dataplane-cni.
namespace Dataplane.Host.Api;

/// <summary>
/// The API's status and error answers as source-generated JSON with the web defaults the server uses (camelCase,
/// case-insensitive): dataplane-cni is published with NativeAOT, where reflection-based serialization is off.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(AgentStatus))]
public sealed partial class AgentJson : JsonSerializerContext;
