#!/usr/bin/python3
"""An independent Hubble client: stubs generated at start from Cilium's protos by Debian's python3-grpc-tools,
calls over python3-grpcio. Prints each answer as one JSON line (proto field names).

  hubble_client.py PROTOS SOCKET flows REQUEST_JSON MAX_FLOWS TIMEOUT_S
  hubble_client.py PROTOS SOCKET status
  hubble_client.py PROTOS SOCKET nodes

SOCKET is a unix socket path, or tls://HOST:PORT for TCP with TLS: the CA that signed the server's certificate in
HUBBLE_TLS_CA, the name to expect in HUBBLE_TLS_SERVER_NAME, and for mutual TLS the client's certificate and key in
HUBBLE_TLS_CERT and HUBBLE_TLS_KEY (PEM files). A refused handshake prints "rpc error: UNAVAILABLE …" and exits 2.
"""
import os
import sys
import tempfile

from grpc_tools import protoc


def generate(protos):
    out = tempfile.mkdtemp(prefix="hubble-py-")
    files = ["flow/flow.proto", "relay/relay.proto", "observer/observer.proto", "peer/peer.proto"]
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = ["protoc", "-I", protos, "-I", include, "--python_out", out, "--grpc_python_out", out] + files
    if protoc.main(args) != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out)


def main():
    protos, socket, command = sys.argv[1], sys.argv[2], sys.argv[3]
    generate(protos)
    import grpc
    from google.protobuf import json_format
    from observer import observer_pb2, observer_pb2_grpc

    def show(message):
        print(json_format.MessageToJson(message, preserving_proto_field_name=True, indent=None), flush=True)

    if socket.startswith("tls://"):
        def read(name):
            path = os.environ.get(name)
            return open(path, "rb").read() if path else None
        credentials = grpc.ssl_channel_credentials(read("HUBBLE_TLS_CA"), read("HUBBLE_TLS_KEY"), read("HUBBLE_TLS_CERT"))
        options = [("grpc.ssl_target_name_override", os.environ["HUBBLE_TLS_SERVER_NAME"])] if "HUBBLE_TLS_SERVER_NAME" in os.environ else []
        channel = grpc.secure_channel(socket[len("tls://"):], credentials, options)
    else:
        channel = grpc.insecure_channel("unix://" + socket)
    stub = observer_pb2_grpc.ObserverStub(channel)
    if command == "status":
        try:
            show(stub.ServerStatus(observer_pb2.ServerStatusRequest(), timeout=10))
        except grpc.RpcError as e:
            print(f"rpc error: {e.code()} {e.details()}", file=sys.stderr, flush=True)
            sys.exit(2)
    elif command == "nodes":
        show(stub.GetNodes(observer_pb2.GetNodesRequest(), timeout=10))
    elif command == "flows":
        request = json_format.Parse(sys.argv[4], observer_pb2.GetFlowsRequest())
        limit, timeout = int(sys.argv[5]), float(sys.argv[6])
        seen = 0
        try:
            for response in stub.GetFlows(request, timeout=timeout):
                show(response)
                seen += 1
                if seen >= limit:
                    break
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                print(f"rpc error: {e.code()} {e.details()}", file=sys.stderr, flush=True)
                sys.exit(2)
        print(f"done {seen}", file=sys.stderr, flush=True)
    else:
        sys.exit(f"unknown command {command}")


main()
