using System.Text.Json;
using Dataplane.Core.Tests.Support;
using Dataplane.Host.Hubble;
using Dataplane.Node.Replay;
using Google.Protobuf;

namespace Dataplane.Core.Tests.Observe;

/// <summary>
/// The flow file is a view of Cilium's generated <c>observer.GetFlowsResponse</c>: every line replay writes parses
/// with the strict proto JSON parser (an unknown or misspelt field is an error) and formats back to the same JSON,
/// and carries what hubble's own output does (uuid, emitter, ethernet, node and cluster names, nanosecond time).
/// </summary>
public class FlowSchemaTests
{
    private static readonly JsonParser Strict = new(JsonParser.Settings.Default);

    [Fact]
    public void EveryFlowLineRoundTripsThroughTheGeneratedMessage()
    {
        using var tmp = new TempDir();
        string example = Path.Combine(Sh.RepoRoot, "examples", "replay");
        var (exit, _, err) = Sh.Run(TimeSpan.FromSeconds(60), Sh.Python, [Path.Combine(example, "make-pcap.py"), tmp["in.pcap"]]);
        Assert.True(exit == 0, "scapy failed: " + err);
        Replayer.Run(Path.Combine(example, "config"), tmp["in.pcap"], tmp["out.pcap"], tmp["flows.jsonl"], TextWriter.Null);

        var lines = File.ReadAllLines(tmp["flows.jsonl"]);
        Assert.Equal(10, lines.Length);
        var uuids = new HashSet<string>();
        foreach (string line in lines)
        {
            var message = Strict.Parse<Observer.GetFlowsResponse>(line);
            Assert.Equal(line, FlowJson.Line(message));
            // The binary encoding carries the same message (what the Observer API sends).
            Assert.Equal(message, Observer.GetFlowsResponse.Parser.ParseFrom(message.ToByteArray()));

            var flow = message.Flow;
            Assert.True(Guid.TryParse(flow.Uuid, out _), line);
            Assert.True(uuids.Add(flow.Uuid), "uuid repeated: " + line);
            Assert.Equal("Dataplane", flow.Emitter.Name);
            Assert.Equal(flow.NodeName, message.NodeName);
            Assert.StartsWith("default/", flow.NodeName);
            Assert.Equal(flow.Time, message.Time);
            Assert.NotNull(flow.Ethernet);
            Assert.Matches("^([0-9a-f]{2}:){5}[0-9a-f]{2}$", flow.Ethernet.Source);
            // The JSON time is the proto's: RFC 3339 with the nanoseconds the packet was received at.
            string time = JsonDocument.Parse(line).RootElement.GetProperty("flow").GetProperty("time").GetString()!;
            Assert.Equal(flow.Time.ToDateTimeOffset(), DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture));
            if (flow.Source.PodName.Length > 0) Assert.Equal("default", flow.Source.ClusterName);
        }
        // A line with a field the schema does not have is refused by the strict parser: the test can fail.
        Assert.ThrowsAny<InvalidProtocolBufferException>(() => Strict.Parse<Observer.GetFlowsResponse>("""{"flow":{"verdikt":"DROPPED"}}"""));
    }
}
