import { z } from 'zod';
import { EnvironmentName, VariableMap, VariableName } from './common';

/** Docker's image reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest]. */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN =
  '(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?';
export const IMAGE_REFERENCE = new RegExp(
  `^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);

export const isImageReference = (image: string): boolean => image.length <= 255 && IMAGE_REFERENCE.test(image);

/** A Docker image reference: [registry/]name[:tag][@digest]. The agent checks jobs against the same grammar. */
export const DockerImage = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(IMAGE_REFERENCE, 'must be a Docker image reference such as mcr.microsoft.com/playwright:v1.50.0');

/** A run's time limit, in seconds: a project's default and a run's override share it. */
export const TimeoutSeconds = z
  .number()
  .int()
  .min(10)
  .max(24 * 3600);

export const ProjectCreateBody = z.object({
  name: z.string().trim().min(1).max(100),
  image: DockerImage,
  command: z.string().max(2000).optional(),
  testFolder: z.string().max(500).optional(),
  timeoutSeconds: TimeoutSeconds.default(3600),
  defaultEnvironment: EnvironmentName.default('staging'),
});
export const ProjectUpdateBody = ProjectCreateBody.partial()
  .extend({
    timeoutSeconds: TimeoutSeconds.optional(),
    defaultEnvironment: EnvironmentName.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'Nothing to update');

/** Secret values: a string sets it, null removes it, an absent key keeps the stored value. */
export const RunSettingsBody = z.object({
  baseUrl: z.union([z.url({ protocol: /^https?$/ }).max(2000), z.null()]).optional(),
  variables: VariableMap.optional(),
  secretVariables: z.record(VariableName, z.union([z.string().max(10_000), z.null()])).optional(),
});
export const EnvironmentParam = EnvironmentName;
