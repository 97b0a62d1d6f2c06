"""A minimal CRI v1 client: what a kubelet sends to containerd's CRI plugin
to run a pod and a container in it, enough to drive the config.toml
runtime entry (`runtimes.<handler>`, BinaryName) as a Kubernetes node does
(docs/kubernetes.md).

The CRI api.proto (kubernetes/cri-api, package runtime.v1, service
RuntimeService) is not packaged in Debian.  PROTO below declares only the
messages and fields used here, with the field numbers of the real file
(protobuf matches fields by number, so unknown fields are skipped both
ways); compile() turns it into Python modules with grpc_tools.protoc
(python3-grpc-tools) in a directory of the caller's.
"""
import importlib
import os
import sys

PROTO = """\
syntax = "proto3";
package runtime.v1;

service RuntimeService {
  rpc Version(VersionRequest) returns (VersionResponse) {}
  rpc RunPodSandbox(RunPodSandboxRequest) returns (RunPodSandboxResponse) {}
  rpc StopPodSandbox(StopPodSandboxRequest) returns (StopPodSandboxResponse) {}
  rpc RemovePodSandbox(RemovePodSandboxRequest) returns (RemovePodSandboxResponse) {}
  rpc CreateContainer(CreateContainerRequest) returns (CreateContainerResponse) {}
  rpc StartContainer(StartContainerRequest) returns (StartContainerResponse) {}
  rpc StopContainer(StopContainerRequest) returns (StopContainerResponse) {}
  rpc RemoveContainer(RemoveContainerRequest) returns (RemoveContainerResponse) {}
  rpc ContainerStatus(ContainerStatusRequest) returns (ContainerStatusResponse) {}
  rpc ExecSync(ExecSyncRequest) returns (ExecSyncResponse) {}
}

message VersionRequest { string version = 1; }
message VersionResponse {
  string version = 1; string runtime_name = 2; string runtime_version = 3;
  string runtime_api_version = 4;
}

enum NamespaceMode { POD = 0; CONTAINER = 1; NODE = 2; TARGET = 3; }
message NamespaceOption {
  NamespaceMode network = 1; NamespaceMode pid = 2; NamespaceMode ipc = 3; string target_id = 4;
}
message LinuxSandboxSecurityContext { NamespaceOption namespace_options = 1; }
message LinuxPodSandboxConfig {
  string cgroup_parent = 1; LinuxSandboxSecurityContext security_context = 2;
}
message PodSandboxMetadata { string name = 1; string uid = 2; string namespace = 3; uint32 attempt = 4; }
message PodSandboxConfig {
  PodSandboxMetadata metadata = 1; string hostname = 2; string log_directory = 3;
  map<string, string> labels = 6; map<string, string> annotations = 7;
  LinuxPodSandboxConfig linux = 8;
}
message RunPodSandboxRequest { PodSandboxConfig config = 1; string runtime_handler = 2; }
message RunPodSandboxResponse { string pod_sandbox_id = 1; }
message StopPodSandboxRequest { string pod_sandbox_id = 1; }
message StopPodSandboxResponse {}
message RemovePodSandboxRequest { string pod_sandbox_id = 1; }
message RemovePodSandboxResponse {}

message ImageSpec { string image = 1; }
message KeyValue { string key = 1; string value = 2; }
message ContainerMetadata { string name = 1; uint32 attempt = 2; }
message LinuxContainerSecurityContext { NamespaceOption namespace_options = 3; }
message LinuxContainerConfig { LinuxContainerSecurityContext security_context = 2; }
message ContainerConfig {
  ContainerMetadata metadata = 1; ImageSpec image = 2; repeated string command = 3;
  repeated string args = 4; string working_dir = 5; repeated KeyValue envs = 6;
  map<string, string> labels = 9; map<string, string> annotations = 10; string log_path = 11;
  LinuxContainerConfig linux = 15;
}
message CreateContainerRequest {
  string pod_sandbox_id = 1; ContainerConfig config = 2; PodSandboxConfig sandbox_config = 3;
}
message CreateContainerResponse { string container_id = 1; }
message StartContainerRequest { string container_id = 1; }
message StartContainerResponse {}
message StopContainerRequest { string container_id = 1; int64 timeout = 2; }
message StopContainerResponse {}
message RemoveContainerRequest { string container_id = 1; }
message RemoveContainerResponse {}

enum ContainerState {
  CONTAINER_CREATED = 0; CONTAINER_RUNNING = 1; CONTAINER_EXITED = 2; CONTAINER_UNKNOWN = 3;
}
message ContainerStatusRequest { string container_id = 1; bool verbose = 2; }
message ContainerStatus {
  string id = 1; ContainerState state = 3; int64 finished_at = 6; int32 exit_code = 7;
  string reason = 10; string message = 11; string log_path = 15;
}
message ContainerStatusResponse { ContainerStatus status = 1; }

message ExecSyncRequest { string container_id = 1; repeated string cmd = 2; int64 timeout = 3; }
message ExecSyncResponse { bytes stdout = 1; bytes stderr = 2; int32 exit_code = 3; }
"""


def compile(outdir):
    """(pb2, pb2_grpc) modules of PROTO, generated in `outdir`."""
    from grpc_tools import protoc
    src = os.path.join(outdir, "zh_cri.proto")
    with open(src, "w") as f:
        f.write(PROTO)
    rc = protoc.main(["protoc", "-I" + outdir, "--python_out=" + outdir,
                      "--grpc_python_out=" + outdir, src])
    if rc != 0:
        raise RuntimeError("grpc_tools.protoc failed (%d) on %s" % (rc, src))
    sys.path.insert(0, outdir)
    try:
        pb2 = importlib.import_module("zh_cri_pb2")
        pb2_grpc = importlib.import_module("zh_cri_pb2_grpc")
    finally:
        sys.path.remove(outdir)
    return pb2, pb2_grpc


class Client:
    """RuntimeService over containerd's socket (`sock`, a path)."""

    def __init__(self, sock, outdir):
        import grpc
        self.pb, grpc_mod = compile(outdir)
        self.channel = grpc.insecure_channel("unix://" + sock)
        self.rt = grpc_mod.RuntimeServiceStub(self.channel)

    def close(self):
        self.channel.close()

    def sandbox_config(self, name, uid, log_dir, cgroup_parent):
        """A pod in the node's network namespace (NODE: no CNI needed)."""
        pb = self.pb
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace="default"),
            log_directory=log_dir,
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=cgroup_parent,
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER,
                                                         ipc=pb.POD))))

    def run_pod(self, config, handler, timeout=120):
        r = self.rt.RunPodSandbox(self.pb.RunPodSandboxRequest(config=config,
                                                               runtime_handler=handler),
                                  timeout=timeout)
        return r.pod_sandbox_id

    def create_container(self, pod_id, sandbox_config, name, image, args, log_path,
                         timeout=120):
        pb = self.pb
        # As a kubelet sets it for a v1 pod: the pod's network and IPC,
        # a PID namespace of the container's own.
        ns = pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD)
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=image),
            args=args, log_path=log_path,
            linux=pb.LinuxContainerConfig(
                security_context=pb.LinuxContainerSecurityContext(namespace_options=ns)))
        r = self.rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=cfg, sandbox_config=sandbox_config), timeout=timeout)
        return r.container_id

    def start(self, cid, timeout=120):
        self.rt.StartContainer(self.pb.StartContainerRequest(container_id=cid), timeout=timeout)

    def exec_sync(self, cid, cmd, timeout=60):
        return self.rt.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=cmd,
                                                        timeout=timeout), timeout=timeout + 10)

    def status(self, cid):
        return self.rt.ContainerStatus(self.pb.ContainerStatusRequest(container_id=cid),
                                       timeout=30).status

    def stop(self, cid, grace=10):
        self.rt.StopContainer(self.pb.StopContainerRequest(container_id=cid, timeout=grace),
                              timeout=grace + 60)

    def remove(self, cid):
        self.rt.RemoveContainer(self.pb.RemoveContainerRequest(container_id=cid), timeout=60)

    def stop_pod(self, pod_id):
        self.rt.StopPodSandbox(self.pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=120)

    def remove_pod(self, pod_id):
        self.rt.RemovePodSandbox(self.pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id),
                                 timeout=120)
