-- Argo CD health of a Pollard CompressionPolicy, from its kstatus conditions (Ready, Reconciling, Stalled).
-- Progressing: the operator has not yet seen the current generation, or generated runs are waiting or going.
-- Healthy: every selected deployment has a successful run for its current source (or none is selected).
-- Suspended: spec.suspend is true. Degraded: the failure limit was reached or the spec is invalid (Stalled).
local hs = {}
local function condition(kind)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == kind then
        return c
      end
    end
  end
  return nil
end
if obj.status == nil or obj.status.observedGeneration == nil
    or obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
  return hs
end
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = reconciling.message
  return hs
end
local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  if ready.reason == "Suspended" then
    hs.status = "Suspended"
  end
  hs.message = ready.message
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the operator"
return hs
