-- Seldon Core 2 Experiment: Argo CD ships no health check for it. Reads the Ready condition.
local hs = {}
local status = obj.status
local generation = obj.metadata and obj.metadata.generation
if status ~= nil and generation ~= nil and status.observedGeneration ~= nil
    and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for Seldon to observe generation " .. generation
  return hs
end
if status ~= nil and status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" then
      local message = condition.message
      if message == nil or message == "" then
        message = condition.reason
      end
      if condition.status == "True" then
        hs.status = "Healthy"
        hs.message = (message ~= nil and message ~= "") and message or "Experiment is ready"
      elseif condition.status == "False" and condition.reason ~= nil
          and string.find(condition.reason, "Failed") ~= nil then
        hs.status = "Degraded"
        hs.message = (message ~= nil and message ~= "") and message or "Experiment failed"
      else
        hs.status = "Progressing"
        hs.message = (message ~= nil and message ~= "") and message or "Experiment is not ready yet"
      end
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for Seldon to report the Experiment Ready"
return hs
