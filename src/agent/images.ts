import type { PodInspection } from '../inspect/types.js';
import { toApiError } from '../k8s/errors.js';
import type { ReportStore } from '../k8s/store.js';
import type { Logger } from '../telemetry/log.js';

/**
 * The image each container's user wrote, where the runtime does not keep it: CRI-O's
 * ContainerStatus leaves `user_specified_image` empty and names "some name of the image" (another
 * tag of the same image ID may be it; cri-o v1.34 server/container_status.go,
 * pkg/annotations/internal.go), and containerd 1.x puts back the image's first repo tag. The
 * Pod spec says what was written: read once per pod (one GET, cached for the pod's life), only
 * for pods where a container's name came from the runtime. Where the Pod cannot be read, the
 * runtime's name stays.
 */
export interface PodImages {
  /** The pods, with the Pod spec's image for every container whose image is the runtime's. */
  fill(pods: readonly PodInspection[]): Promise<PodInspection[]>;
}

export function createPodImages(opts: {
  readonly store: Pick<ReportStore, 'podBinding'>;
  readonly log: Logger;
}): PodImages {
  const log = opts.log.child({ module: 'images' });
  /** Pod UID → container → image; null when the API has no such Pod (not asked again). */
  const known = new Map<string, Readonly<Record<string, string>> | null>();
  let warned = false;
  let forbidden = false;

  async function imagesOf(pod: PodInspection): Promise<Readonly<Record<string, string>> | null> {
    const cached = known.get(pod.pod.uid);
    if (cached !== undefined) return cached;
    const b = await opts.store.podBinding(pod.pod.namespace, pod.pod.name);
    // Only the Pod this sandbox is (a static pod's mirror names its UID).
    const images =
      b && (b.uid === pod.pod.uid || b.mirrorOf === pod.pod.uid) ? (b.images ?? {}) : null;
    known.set(pod.pod.uid, images);
    return images;
  }

  function withImages(pod: PodInspection, images: Readonly<Record<string, string>>): PodInspection {
    return {
      ...pod,
      containers: pod.containers.map((c) => {
        const written = images[c.name];
        if (!c.imageFromRuntime || written === undefined) return c;
        const { imageFromRuntime, ...rest } = c;
        return { ...rest, image: written };
      }),
    };
  }

  return {
    async fill(pods) {
      const live = new Set(pods.map((p) => p.pod.uid));
      for (const uid of known.keys()) if (!live.has(uid)) known.delete(uid);
      const out: PodInspection[] = [];
      // One failed read stops the reads of this scan (the API is down: every one would fail);
      // a refusal (no `get pods`) stops them for good.
      let reading = !forbidden;
      for (const pod of pods) {
        if (!reading || !pod.containers.some((c) => c.imageFromRuntime)) {
          out.push(pod);
          continue;
        }
        try {
          const images = await imagesOf(pod);
          out.push(images === null ? pod : withImages(pod, images));
        } catch (err) {
          const e = toApiError(err);
          forbidden = e.kind === 'forbidden' || e.kind === 'unauthorized';
          if (!warned)
            log.warn(
              { err: e.message },
              'cannot read Pods for the images their users wrote; the runtime names stay',
            );
          warned = true;
          reading = false;
          out.push(pod);
        }
      }
      return out;
    },
  };
}
